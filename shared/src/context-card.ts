/**
 * The sidebar's card: the add-on view model (api/addon-view.ts) as a Gmail card (card.ts), cut to the platform's
 * limits. The server builds it (`POST /api/addon/context` for Gmail), the Gmail add-on renders it as it is. Pure and
 * dependency-free: this file is bundled into Apps Script.
 */
import { ADDON_ACTIONS } from './addon-actions';
import type { AddonContextView, AddonParticipant } from './api/addon-view';
import { escapeCardText, limitCard, type Card, type CardButton, type CardSection, type DecoratedText, type OnClick, type Widget } from './card';
import { choiceWords, loggingChoices, sharingChoices } from './choices';

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

/**
 * "Add note" and "Add task" for a record: the add-on asks for the text, the server stores it on the record. A
 * company's say so ("Add company note"), since they stand under a person whose own buttons say "Add note".
 */
function activityButtons(kind: 'contact' | 'company' | 'deal', id: string, name: string): CardButton[] {
  const parameters = { kind, id, name };
  const what = kind === 'company' ? 'company ' : '';
  return [
    { text: `Add ${what}note`, onClick: action(ADDON_ACTIONS.addNote, parameters) },
    { text: `Add ${what}task`, onClick: action(ADDON_ACTIONS.addTask, parameters) },
  ];
}

/** `companiesShown` holds the companies already given their note and task buttons on this card: once each. */
function personWidgets(p: AddonParticipant, companiesShown: Set<string>): Widget[] {
  const e = escapeCardText;
  const widgets: Widget[] = [];
  if (p.contact) {
    widgets.push(
      text({
        topLabel: 'Contact',
        text: e(personName(p)),
        startIcon: { knownIcon: 'PERSON' },
        bottomLabel: e([p.email, p.contact.title].filter(Boolean).join(' · ')),
        onClick: link(p.contact.openUrl),
      }),
    );
    widgets.push({ buttonList: { buttons: activityButtons('contact', p.contact.id, personName(p)) } });
  } else if (p.teammate) {
    widgets.push(text({ topLabel: 'Teammate', text: e(personName(p)), bottomLabel: e(p.email), startIcon: { knownIcon: 'PERSON' } }));
  } else {
    const s = p.suggestion;
    const suggested = s?.companyName ? ` · ${s.companyName}` : '';
    widgets.push(
      text({
        topLabel: s?.roleAddress ? 'Shared address, not a person' : 'Not in the CRM yet',
        text: e(personName(p)),
        bottomLabel: e(`${p.email}${suggested}`),
        startIcon: { knownIcon: 'EMAIL' },
      }),
    );
    // Each unknown person gets their own button, named; a role or group address only on request ("Add anyway").
    if (s) {
      const create = action(ADDON_ACTIONS.createContact, { email: s.email, name: s.name, companyName: s.companyName ?? '' });
      // Button texts are not markup, and not escaped either: characters that would need it are dropped.
      const who = (s.name || s.email).replace(/[<>&]/g, '').trim() || s.email;
      widgets.push({ buttonList: { buttons: [{ text: s.roleAddress ? 'Add as a contact anyway' : `Create contact ${who}`, onClick: create }] } });
    }
  }
  if (p.company) {
    widgets.push(
      text({
        topLabel: 'Company',
        text: e(p.company.name),
        bottomLabel: e(p.company.domains.join(', ')),
        startIcon: { knownIcon: 'MEMBERSHIP' },
        onClick: link(p.company.openUrl),
      }),
    );
    if (!companiesShown.has(p.company.id)) {
      companiesShown.add(p.company.id);
      widgets.push({ buttonList: { buttons: activityButtons('company', p.company.id, p.company.name) } });
    }
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
  const companiesShown = new Set<string>();
  const sections: CardSection[] = shown.map((p) => ({
    header: p.role === 'from' ? 'From' : p.role === 'to' ? 'To' : 'Cc',
    widgets: personWidgets(p, companiesShown),
  }));
  const more = view.participants.length - shown.length + view.participantsOmitted;
  if (more > 0) sections.push({ widgets: [{ textParagraph: { text: `and ${more} more ${more === 1 ? 'person' : 'people'} on this email` } }] });

  const deals = dealWidgets(view);
  if (deals.length > 0) sections.push({ header: 'Open deals', widgets: deals });

  sections.push({
    header: 'Recent conversation',
    collapsible: view.recentMessages.length > 2,
    uncollapsibleWidgetsCount: 2,
    widgets:
      view.recentMessages.length === 0
        ? [{ textParagraph: { text: 'No earlier mail with these people that you may see.' } }]
        : view.recentMessages.slice(0, CONTEXT_CARD_SHOWS.messages).map((m) =>
            text({
              topLabel: e(`${m.date.slice(0, 10)} · ${m.from.name || m.from.email}`),
              text: e(m.subject || '(no subject)'),
              ...(m.snippet ? { bottomLabel: e(m.snippet) } : {}),
              startIcon: { knownIcon: 'DESCRIPTION' },
              onClick: link(m.openUrl),
            }),
          ),
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
      text: e(d.name),
      topLabel: e(d.stage),
      startIcon: { knownIcon: 'DOLLAR' },
      onClick: link(d.openUrl),
      bottomLabel: e([formatAmount(d.amount, d.currency), d.closeDate ? `closes ${d.closeDate.slice(0, 10)}` : ''].filter(Boolean).join(' · ')),
    }),
    {
      buttonList: {
        buttons: [
          ...(mid
            ? [{ text: 'Attach this thread', onClick: action(ADDON_ACTIONS.attachToDeal, { dealId: d.id, dealName: d.name, internetMessageId: mid }) }]
            : []),
          ...activityButtons('deal', d.id, d.name),
        ],
      },
    },
  ]);
  const contactIds = contactIdsOf(view);
  if (contactIds.length > 0) {
    widgets.push({
      buttonList: {
        buttons: [
          { text: 'New deal with these people', onClick: action(ADDON_ACTIONS.newDeal, { contactIds: contactIds.join(','), internetMessageId: mid ?? '' }) },
        ],
      },
    });
  }
  return widgets;
}

function thisEmailSection(view: AddonContextView): CardSection {
  const m = view.thisMessage;
  const sender = view.participants.find((p) => p.role === 'from');
  const status =
    m.status === 'synced'
      ? `Synced by ${m.syncedBy.map((u) => (u.isYou ? 'you' : u.name || u.email)).join(', ')}`
      : m.status === 'not_visible'
        ? 'In the CRM, but shared privately by its holder'
        : m.status === 'not_synced'
          ? 'Not in the CRM'
          : 'Cannot tell: the email has no Message-ID';
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
  widgets.push({
    buttonList: {
      buttons: loggingChoices(c).map((l) => ({
        text: l.label,
        onClick:
          l.action === 'logAgain'
            ? action(ADDON_ACTIONS.logAgain, { exclusionId: l.exclusionId, scope: l.scope })
            : action(ADDON_ACTIONS.dontLog, { internetMessageId: mid, scope: l.scope }),
      })),
    },
  });
  if (words.sharing && m.messageId) {
    widgets.push(text({ text: escapeCardText(words.sharing), startIcon: { knownIcon: 'MEMBERSHIP' } }));
    const messageId = m.messageId;
    widgets.push({
      buttonList: {
        buttons: sharingChoices(c).map((s) => ({ text: s.label, onClick: action(ADDON_ACTIONS.setSharing, { messageId, level: s.level ?? 'default' }) })),
      },
    });
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
  return view.sync.mailboxes.flatMap((m) =>
    m.problem
      ? [
          text({
            topLabel: e(`${m.address} · ${m.state.replace('_', ' ')}`),
            text: e(m.problem.message),
            bottomLabel: e(m.problem.fix),
            startIcon: { knownIcon: 'CLOCK' },
          }),
        ]
      : [],
  );
}
