/**
 * Card JSON (card v1 shape, shared/src/card.ts) → CardService builders. A mechanical mapping, no content of its
 * own: what the sidebar says is decided by the server, so the Gmail add-on and a future HTTP add-on agree.
 */
import type { CardButton, DecoratedText, KnownIcon, OnClick, OpenLinkSpec } from '@threadline/shared/src/card';
import type { AddonCard, AddonSection, AddonWidget } from './addon-card';

type CS = GoogleAppsScript.Card_Service.CardService;
type Clickable = {
  setOpenLink(link: GoogleAppsScript.Card_Service.OpenLink): unknown;
  setOnClickAction(action: GoogleAppsScript.Card_Service.Action): unknown;
};

export function renderAction(cs: CS, a: { function: string; parameters?: Record<string, string> }): GoogleAppsScript.Card_Service.Action {
  const action = cs.newAction().setFunctionName(a.function);
  return a.parameters && Object.keys(a.parameters).length > 0 ? action.setParameters(a.parameters) : action;
}

export function renderOpenLink(cs: CS, spec: OpenLinkSpec): GoogleAppsScript.Card_Service.OpenLink {
  const link = cs.newOpenLink().setUrl(spec.url);
  if (spec.openAs) link.setOpenAs(cs.OpenAs[spec.openAs]);
  if (spec.onClose) link.setOnClose(cs.OnClose[spec.onClose]);
  return link;
}

function applyOnClick(cs: CS, target: Clickable, onClick: OnClick): void {
  if ('openLink' in onClick) target.setOpenLink(renderOpenLink(cs, onClick.openLink));
  else target.setOnClickAction(renderAction(cs, onClick.action));
}

function renderButton(cs: CS, b: CardButton): GoogleAppsScript.Card_Service.TextButton {
  const button = cs.newTextButton().setText(b.text);
  applyOnClick(cs, button, b.onClick);
  return button;
}

function icon(cs: CS, name: KnownIcon): GoogleAppsScript.Card_Service.IconImage {
  return cs.newIconImage().setIcon(cs.Icon[name]);
}

function renderDecoratedText(cs: CS, d: DecoratedText): GoogleAppsScript.Card_Service.DecoratedText {
  const w = cs.newDecoratedText().setText(d.text);
  if (d.topLabel) w.setTopLabel(d.topLabel);
  if (d.bottomLabel) w.setBottomLabel(d.bottomLabel);
  if (d.wrapText !== undefined) w.setWrapText(d.wrapText);
  if (d.startIcon) w.setStartIcon(icon(cs, d.startIcon.knownIcon));
  if (d.onClick) applyOnClick(cs, w, d.onClick);
  return w;
}

function renderWidget(cs: CS, widget: AddonWidget): GoogleAppsScript.Card_Service.Widget {
  if ('decoratedText' in widget) return renderDecoratedText(cs, widget.decoratedText);
  if ('textParagraph' in widget) return cs.newTextParagraph().setText(widget.textParagraph.text);
  if ('buttonList' in widget) {
    const set = cs.newButtonSet();
    for (const b of widget.buttonList.buttons) set.addButton(renderButton(cs, b));
    return set;
  }
  if ('textInput' in widget) {
    const t = widget.textInput;
    const input = cs.newTextInput().setFieldName(t.name).setTitle(t.label);
    if (t.onChangeAction) input.setOnChangeAction(renderAction(cs, t.onChangeAction));
    if (t.hint) input.setHint(t.hint);
    if (t.multiline) input.setMultiline(true);
    return t.value ? input.setValue(t.value) : input;
  }
  return cs.newDivider();
}

function renderSection(cs: CS, s: AddonSection): GoogleAppsScript.Card_Service.CardSection {
  const section = cs.newCardSection();
  if (s.header) section.setHeader(s.header);
  for (const w of s.widgets) section.addWidget(renderWidget(cs, w));
  if (s.collapsible) {
    section.setCollapsible(true);
    if (s.uncollapsibleWidgetsCount !== undefined) section.setNumUncollapsibleWidgets(s.uncollapsibleWidgetsCount);
  }
  return section;
}

export function renderCard(cs: CS, card: AddonCard, name?: string): GoogleAppsScript.Card_Service.Card {
  const header = cs.newCardHeader().setTitle(card.header.title);
  if (card.header.subtitle) header.setSubtitle(card.header.subtitle);
  const builder = cs.newCardBuilder().setHeader(header);
  // A card name lets a later action pop back to it (Navigation.popToNamedCard).
  if (name) builder.setName(name);
  for (const s of card.sections) builder.addSection(renderSection(cs, s));
  if (card.fixedFooter) {
    const footer = cs.newFixedFooter().setPrimaryButton(renderButton(cs, card.fixedFooter.primaryButton));
    if (card.fixedFooter.secondaryButton) footer.setSecondaryButton(renderButton(cs, card.fixedFooter.secondaryButton));
    builder.setFixedFooter(footer);
  }
  return builder.build();
}
