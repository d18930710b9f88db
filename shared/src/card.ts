/**
 * Gmail card descriptions as plain JSON, mirroring the Google Workspace card v1 schema (`header`, `sections` of
 * `widgets`, `fixedFooter`), so the Gmail add-on only maps it onto CardService and the same JSON can later serve
 * a Workspace add-on on HTTP endpoints (docs/sidebars.md). One deliberate difference: an action's `parameters` are a
 * string map, which is what CardService's `Action.setParameters` takes; `toHttpCard` turns them into the HTTP
 * schema's `[{key, value}]` list.
 *
 * `limitCard` makes any card fit the platform's limits by truncation; the sidebar's card is built in
 * context-card.ts. Pure and dependency-free: this file is bundled into Apps Script.
 */

export interface CardAction {
  function: string;
  parameters?: Record<string, string>;
}
/**
 * card v1 `OpenLink`: `onClose: 'RELOAD'` reloads the add-on when the opened window closes (with `openAs: 'OVERLAY'`
 * the card waits for it), which a page that changes what the card shows — a mailbox connect — needs
 * (https://developers.google.com/apps-script/reference/card-service/on-close).
 */
export interface OpenLinkSpec {
  url: string;
  openAs?: 'FULL_SIZE' | 'OVERLAY';
  onClose?: 'NOTHING' | 'RELOAD';
}
export type OnClick = { openLink: OpenLinkSpec } | { action: CardAction };
export interface CardButton {
  text: string;
  onClick: OnClick;
}
export type KnownIcon = 'PERSON' | 'EMAIL' | 'DOLLAR' | 'CLOCK' | 'DESCRIPTION' | 'MEMBERSHIP' | 'BOOKMARK' | 'STAR';
export interface DecoratedText {
  topLabel?: string;
  text: string;
  bottomLabel?: string;
  wrapText?: boolean;
  startIcon?: { knownIcon: KnownIcon };
  onClick?: OnClick;
}
export type Widget =
  | { decoratedText: DecoratedText }
  | { textParagraph: { text: string } }
  | { buttonList: { buttons: CardButton[] } }
  | { divider: Record<string, never> };
export interface CardSection {
  header?: string;
  collapsible?: boolean;
  uncollapsibleWidgetsCount?: number;
  widgets: Widget[];
}
export interface Card {
  header: { title: string; subtitle?: string };
  sections: CardSection[];
  fixedFooter?: { primaryButton: CardButton; secondaryButton?: CardButton };
}

/**
 * Google documents at most 100 sections and 100 widgets per card (widgets past the limit are dropped silently,
 * so we cut first and say so). It publishes no text sizes; the caps below are ours, sized for a ~300 px sidebar
 * and to keep the response small. Button texts are short because CardService cuts long ones without warning.
 */
export const CARD_LIMITS = {
  sections: 100,
  widgetsPerCard: 100,
  buttonsPerList: 6,
  headerText: 120,
  sectionHeader: 120,
  label: 120,
  text: 400,
  paragraph: 2000,
  buttonText: 40,
  url: 2000,
  parameterValue: 1000,
} as const;

/** Cuts to `max` code points with an ellipsis; never splits a surrogate pair or an HTML entity. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const cut = chars
    .slice(0, Math.max(0, max - 1))
    .join('')
    .replace(/&[#a-zA-Z0-9]*$/, '');
  return `${cut}…`;
}

/**
 * Card texts accept a small HTML subset (<b>, <a>, <font>…), so everything that comes from an email (names,
 * subjects, snippets) is escaped: a subject must never become a link.
 */
export function escapeCardText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const limitButton = (b: CardButton): CardButton => ({ text: truncate(b.text, CARD_LIMITS.buttonText), onClick: limitOnClick(b.onClick) });

function limitOnClick(onClick: OnClick): OnClick {
  if ('openLink' in onClick) return { openLink: { ...onClick.openLink, url: onClick.openLink.url.slice(0, CARD_LIMITS.url) } };
  const parameters = onClick.action.parameters;
  if (!parameters) return { action: { function: onClick.action.function } };
  const limited = Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, v.slice(0, CARD_LIMITS.parameterValue)]));
  return { action: { function: onClick.action.function, parameters: limited } };
}

function limitWidget(w: Widget): Widget {
  if ('decoratedText' in w) {
    const d = w.decoratedText;
    const out: DecoratedText = { ...d, text: truncate(d.text, CARD_LIMITS.text) };
    if (d.topLabel !== undefined) out.topLabel = truncate(d.topLabel, CARD_LIMITS.label);
    if (d.bottomLabel !== undefined) out.bottomLabel = truncate(d.bottomLabel, CARD_LIMITS.label);
    if (d.onClick) out.onClick = limitOnClick(d.onClick);
    return { decoratedText: out };
  }
  if ('textParagraph' in w) return { textParagraph: { text: truncate(w.textParagraph.text, CARD_LIMITS.paragraph) } };
  if ('buttonList' in w) return { buttonList: { buttons: w.buttonList.buttons.slice(0, CARD_LIMITS.buttonsPerList).map(limitButton) } };
  return w;
}

/** The card cut to the limits: texts truncated, widgets past the card's budget dropped, empty sections removed. */
export function limitCard(card: Card): Card {
  let budget = CARD_LIMITS.widgetsPerCard;
  const sections: CardSection[] = [];
  for (const section of card.sections.slice(0, CARD_LIMITS.sections)) {
    const widgets = section.widgets.slice(0, budget).map(limitWidget);
    budget -= widgets.length;
    // The schema requires at least one widget per section.
    if (widgets.length === 0) continue;
    const out: CardSection = { ...section, widgets };
    if (section.header !== undefined) out.header = truncate(section.header, CARD_LIMITS.sectionHeader);
    if (out.uncollapsibleWidgetsCount !== undefined) out.uncollapsibleWidgetsCount = Math.min(out.uncollapsibleWidgetsCount, widgets.length);
    sections.push(out);
  }
  const header: Card['header'] = { title: truncate(card.header.title, CARD_LIMITS.headerText) };
  if (card.header.subtitle !== undefined) header.subtitle = truncate(card.header.subtitle, CARD_LIMITS.headerText);
  const limited: Card = { header, sections };
  if (card.fixedFooter) {
    limited.fixedFooter = { primaryButton: limitButton(card.fixedFooter.primaryButton) };
    if (card.fixedFooter.secondaryButton) limited.fixedFooter.secondaryButton = limitButton(card.fixedFooter.secondaryButton);
  }
  return limited;
}

/** The HTTP add-on form of a card: action parameters as `[{key, value}]` (card v1 `Action.parameters`). */
export function toHttpCard(card: Card): unknown {
  return JSON.parse(
    JSON.stringify(card, (key, value: unknown) =>
      key === 'parameters' && value && typeof value === 'object' && !Array.isArray(value)
        ? Object.entries(value as Record<string, string>).map(([k, v]) => ({ key: k, value: v }))
        : value,
    ),
  );
}
