/**
 * Gmail card descriptions as plain JSON, mirroring the Google Workspace card v1 schema (`header`, `sections` of
 * `widgets`, `fixedFooter`), so the Gmail add-on only maps it onto CardService and the same JSON can later serve
 * a Workspace add-on on HTTP endpoints (DESIGN §6). One deliberate difference: an action's `parameters` are a
 * string map, which is what CardService's `Action.setParameters` takes; `toHttpCard` turns them into the HTTP
 * schema's `[{key, value}]` list.
 *
 * `contextCard` turns the sidebar view model into a card; `limitCard` makes any card fit the platform's limits
 * by truncation. Pure and dependency-free: this file is bundled into Apps Script.
 */
import { ADDON_ACTIONS, type AddonContextView, type AddonParticipant } from './addon-view';
import { choiceWords, sharingChoices } from './choices';

export interface CardAction { function: string; parameters?: Record<string, string> }
/**
 * card v1 `OpenLink`: `onClose: 'RELOAD'` reloads the add-on when the opened window closes (with `openAs: 'OVERLAY'`
 * the card waits for it), which a page that changes what the card shows — a mailbox connect — needs
 * (https://developers.google.com/apps-script/reference/card-service/on-close).
 */
export interface OpenLinkSpec { url: string; openAs?: 'FULL_SIZE' | 'OVERLAY'; onClose?: 'NOTHING' | 'RELOAD' }
export type OnClick = { openLink: OpenLinkSpec } | { action: CardAction };
export interface CardButton { text: string; onClick: OnClick }
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
export interface CardSection { header?: string; collapsible?: boolean; uncollapsibleWidgetsCount?: number; widgets: Widget[] }
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
  const cut = chars.slice(0, Math.max(0, max - 1)).join('').replace(/&[#a-zA-Z0-9]*$/, '');
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
  return JSON.parse(JSON.stringify(card, (key, value: unknown) =>
    key === 'parameters' && value && typeof value === 'object' && !Array.isArray(value)
      ? Object.entries(value as Record<string, string>).map(([k, v]) => ({ key: k, value: v }))
      : value));
}

// ---- The sidebar card --------------------------------------------------------------------------------------

/** How much of the view the card shows; the CRM (Open in CRM) has the rest. */
export const CONTEXT_CARD_SHOWS = { people: 5, deals: 5, messages: 5 } as const;

const link = (url: string): OnClick => ({ openLink: { url } });
/** A page that changes what the card shows (connecting a mailbox): the card reloads when it closes. */
export const reloadingLink = (url: string): OnClick => ({ openLink: { url, openAs: 'OVERLAY', onClose: 'RELOAD' } });
const action = (fn: string, parameters: Record<string, string>): OnClick => ({ action: { function: fn, parameters } });
const text = (d: DecoratedText): Widget => ({ decoratedText: { wrapText: true, ...d } });

function personName(p: AddonParticipant): string {
  return p.contact?.name || p.displayName || p.suggestion?.name || p.email;
}

/** "Add note" and "Add task" for a record: the add-on asks for the text, the server stores it on the record. */
function activityButtons(kind: 'contact' | 'company' | 'deal', id: string, name: string): CardButton[] {
  const parameters = { kind, id, name };
  return [
    { text: 'Add note', onClick: action(ADDON_ACTIONS.addNote, parameters) },
    { text: 'Add task', onClick: action(ADDON_ACTIONS.addTask, parameters) },
  ];
}

function personWidgets(p: AddonParticipant): Widget[] {
  const e = escapeCardText;
  const widgets: Widget[] = [];
  if (p.contact) {
    widgets.push(text({
      topLabel: 'Contact', text: e(personName(p)), startIcon: { knownIcon: 'PERSON' },
      bottomLabel: e([p.email, p.contact.title].filter(Boolean).join(' · ')), onClick: link(p.contact.openUrl),
    }));
    widgets.push({ buttonList: { buttons: activityButtons('contact', p.contact.id, personName(p)) } });
  } else if (p.teammate) {
    widgets.push(text({ topLabel: 'Teammate', text: e(personName(p)), bottomLabel: e(p.email), startIcon: { knownIcon: 'PERSON' } }));
  } else {
    const s = p.suggestion;
    const suggested = s?.companyName ? ` · ${s.companyName}` : '';
    widgets.push(text({
      topLabel: s?.roleAddress ? 'Shared address, not a person' : 'Not in the CRM yet', text: e(personName(p)),
      bottomLabel: e(`${p.email}${suggested}`), startIcon: { knownIcon: 'EMAIL' },
    }));
    // Each unknown person gets their own button, named; a role or group address only on request ("Add anyway").
    if (s) {
      const create = action(ADDON_ACTIONS.createContact, { email: s.email, name: s.name, companyName: s.companyName ?? '' });
      // Button texts are not markup, and not escaped either: characters that would need it are dropped.
      const who = (s.name || s.email).replace(/[<>&]/g, '').trim() || s.email;
      widgets.push({ buttonList: { buttons: [{ text: s.roleAddress ? 'Add as a contact anyway' : `Create contact ${who}`, onClick: create }] } });
    }
  }
  if (p.company) {
    widgets.push(text({ topLabel: 'Company', text: e(p.company.name), bottomLabel: e(p.company.domains.join(', ')), startIcon: { knownIcon: 'MEMBERSHIP' }, onClick: link(p.company.openUrl) }));
  }
  return widgets;
}

function formatAmount(amount: number | null, currency: string): string {
  return amount === null ? '' : `${amount.toLocaleString('en-US')} ${currency}`;
}

export function contextCard(view: AddonContextView): Card {
  const e = escapeCardText;
  const shown = view.participants.slice(0, CONTEXT_CARD_SHOWS.people);
  const lead = shown.find((p) => p.role === 'from') ?? shown[0];
  const sections: CardSection[] = shown.map((p) => ({ header: p.role === 'from' ? 'From' : p.role === 'to' ? 'To' : 'Cc', widgets: personWidgets(p) }));
  const more = view.participants.length - shown.length + view.participantsOmitted;
  if (more > 0) sections.push({ widgets: [{ textParagraph: { text: `and ${more} more ${more === 1 ? 'person' : 'people'} on this email` } }] });

  const deals = dealWidgets(view);
  if (deals.length > 0) sections.push({ header: 'Open deals', widgets: deals });

  sections.push({
    header: 'Recent conversation',
    collapsible: view.recentMessages.length > 2,
    uncollapsibleWidgetsCount: 2,
    widgets: view.recentMessages.length === 0
      ? [{ textParagraph: { text: 'No earlier mail with these people that you may see.' } }]
      : view.recentMessages.slice(0, CONTEXT_CARD_SHOWS.messages).map((m) => text({
        topLabel: e(`${m.date.slice(0, 10)} · ${m.from.name || m.from.email}`), text: e(m.subject || '(no subject)'),
        ...(m.snippet ? { bottomLabel: e(m.snippet) } : {}), startIcon: { knownIcon: 'DESCRIPTION' }, onClick: link(m.openUrl),
      })),
  });

  sections.push(thisEmailSection(view));
  const choice = yourChoiceSection(view);
  if (choice) sections.push(choice);
  const health = syncHealthWidgets(view);
  if (health.length > 0) sections.push({ header: 'Your mailbox sync', widgets: health });

  const card: Card = {
    header: lead
      ? { title: personName(lead), subtitle: lead.company ? `${lead.email} · ${lead.company.name}` : lead.email }
      : { title: 'Threadline', subtitle: 'No one else on this email' },
    sections,
  };
  return limitCard(card);
}

/** The contacts on the email: who a new deal from the sidebar is with. */
export function contactIdsOf(view: AddonContextView): string[] {
  return [...new Set(view.participants.flatMap((p) => (p.contact ? [p.contact.id] : [])))];
}

/**
 * The open deals of the people on the email, each with "Attach this thread" once the email is in the CRM, and
 * "New deal with these people" when any of them is a contact.
 */
function dealWidgets(view: AddonContextView): Widget[] {
  const e = escapeCardText;
  const mid = view.thisMessage.status === 'synced' ? view.thisMessage.internetMessageId : null;
  const widgets: Widget[] = view.deals.slice(0, CONTEXT_CARD_SHOWS.deals).flatMap((d): Widget[] => [
    text({
      text: e(d.name), topLabel: e(d.stage), startIcon: { knownIcon: 'DOLLAR' }, onClick: link(d.openUrl),
      bottomLabel: e([formatAmount(d.amount, d.currency), d.closeDate ? `closes ${d.closeDate.slice(0, 10)}` : ''].filter(Boolean).join(' · ')),
    }),
    { buttonList: { buttons: [
      ...(mid ? [{ text: 'Attach this thread', onClick: action(ADDON_ACTIONS.attachToDeal, { dealId: d.id, dealName: d.name, internetMessageId: mid }) }] : []),
      ...activityButtons('deal', d.id, d.name),
    ] } },
  ]);
  const contactIds = contactIdsOf(view);
  if (contactIds.length > 0) {
    widgets.push({ buttonList: { buttons: [{ text: 'New deal with these people', onClick: action(ADDON_ACTIONS.newDeal, { contactIds: contactIds.join(','), internetMessageId: mid ?? '' }) }] } });
  }
  return widgets;
}

function thisEmailSection(view: AddonContextView): CardSection {
  const m = view.thisMessage;
  const sender = view.participants.find((p) => p.role === 'from');
  const status = m.status === 'synced'
    ? `Synced by ${m.syncedBy.map((u) => (u.isYou ? 'you' : u.name || u.email)).join(', ')}`
    : m.status === 'not_visible' ? 'In the CRM, but shared privately by its holder'
      : m.status === 'not_synced' ? 'Not in the CRM' : 'Cannot tell: the email has no Message-ID';
  const openUrl = m.openUrl ?? view.participants.find((p) => p.contact)?.contact?.openUrl ?? view.links.crm;
  const buttons: CardButton[] = [{ text: 'Open in CRM', onClick: link(openUrl) }];
  buttons.push({
    text: m.status === 'synced' ? 'Why is this email here?' : "Why isn't this email here?",
    onClick: action(ADDON_ACTIONS.whyNotHere, { internetMessageId: m.internetMessageId ?? '', email: sender?.email ?? '' }),
  });
  if (sender && !sender.teammate) buttons.push({ text: 'Never log this sender', onClick: action(ADDON_ACTIONS.neverLogSender, { email: sender.email }) });
  return { header: 'This email', widgets: [text({ text: escapeCardText(status), startIcon: { knownIcon: 'EMAIL' } }), { buttonList: { buttons } }] };
}

/**
 * "This email, my choice": log it or not (this email, or its whole thread), and — when the user holds a copy — how
 * much of it teammates get. The state is the server's (`thisMessage.choices`); each button is one call back.
 */
function yourChoiceSection(view: AddonContextView): CardSection | null {
  const m = view.thisMessage;
  const c = m.choices;
  if (!c || !m.internetMessageId) return null;
  const words = choiceWords(c);
  const widgets: Widget[] = [text({ text: escapeCardText(words.logging), startIcon: { knownIcon: 'BOOKMARK' } })];
  const mid = m.internetMessageId;
  widgets.push({ buttonList: { buttons: c.notLogged
    ? [{ text: c.notLogged.scope === 'thread' ? 'Log this thread again' : 'Log this email again', onClick: action(ADDON_ACTIONS.logAgain, { exclusionId: c.notLogged.id, scope: c.notLogged.scope }) }]
    : [
      { text: "Don't log this email", onClick: action(ADDON_ACTIONS.dontLog, { internetMessageId: mid, scope: 'message' }) },
      { text: "Don't log this thread", onClick: action(ADDON_ACTIONS.dontLog, { internetMessageId: mid, scope: 'thread' }) },
    ] } });
  if (words.sharing && m.messageId) {
    widgets.push(text({ text: escapeCardText(words.sharing), startIcon: { knownIcon: 'MEMBERSHIP' } }));
    const messageId = m.messageId;
    widgets.push({ buttonList: { buttons: sharingChoices(c).map((s) => ({ text: s.label, onClick: action(ADDON_ACTIONS.setSharing, { messageId, level: s.level ?? 'default' }) })) } });
  }
  return { header: 'Your choice for this email', widgets };
}

function syncHealthWidgets(view: AddonContextView): Widget[] {
  if (view.sync.status === 'ok') return [];
  if (view.sync.status === 'not_connected') {
    return [
      { textParagraph: { text: 'Your mailbox is not connected, so your mail is not synced to the CRM in the background.' } },
      { buttonList: { buttons: [{ text: 'Connect mailbox', onClick: reloadingLink(view.sync.connectUrl) }] } },
    ];
  }
  const e = escapeCardText;
  return view.sync.mailboxes.flatMap((m) => (m.problem
    ? [text({ topLabel: e(`${m.address} · ${m.state.replace('_', ' ')}`), text: e(m.problem.message), bottomLabel: e(m.problem.fix), startIcon: { knownIcon: 'CLOCK' } })]
    : []));
}
