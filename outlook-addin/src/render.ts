/**
 * The view model (shared/src/api/addon-view.ts) as DOM: pure in the sense that it only builds elements from the
 * view and the action callbacks it is given; all fetching happens in taskpane.ts.
 */
import type { AddonContextView, AddonParticipant } from '@threadline/shared/src/api/addon-view';
import type { WhyAnswer } from '@threadline/shared/src/api/privacy';
import { choiceWords, loggingChoices, sharingChoices, type LogScope, type SharingLevel } from '@threadline/shared/src/choices';
import { formatAmount, formatDate, h, safeHref } from './dom';
import { type ActivityActions, activityForms } from './activity';

export interface ViewActions extends ActivityActions {
  createContact(input: { email: string; name: string; companyName: string }): Promise<void>;
  neverLogSender(email: string): Promise<void>;
  /** The open email's thread onto a deal (only offered once the email is in the CRM). */
  attachToDeal(dealId: string, internetMessageId: string): Promise<void>;
  /** A deal with these contacts, and the thread when the email is in the CRM. */
  createDeal(input: { name: string; contactIds: string[]; internetMessageId: string | null }): Promise<void>;
  /** "This email, my choice": each is one call, after which the pane is redrawn from the server. */
  dontLog(internetMessageId: string, scope: LogScope): Promise<void>;
  logAgain(exclusionId: string, scope: LogScope): Promise<void>;
  /** null: back to the user's own level. */
  setSharing(messageId: string, level: SharingLevel | null): Promise<void>;
  /** `GET /api/why` for the open email: the server's verdict and reasons, in its words (as the Gmail card shows them). */
  why(query: { messageId: string | null; email: string | null }): Promise<WhyAnswer>;
}

/** What the view model does not carry but the pane knows: the open email's subject, to name a new deal. */
export interface ViewContext {
  subject: string;
}

const section = (title: string, id: string, ...body: (Node | null)[]) =>
  h('section', { class: 'section', 'aria-labelledby': id }, h('h2', { id, class: 'section-title' }, title), ...body);

const link = (text: string, url: string | null | undefined, cls = 'link') =>
  h('a', { class: cls, href: safeHref(url), target: '_blank', rel: 'noopener noreferrer' }, text);

/** A button that shows its own progress and error, so one failed action does not replace the whole pane. */
function actionButton(label: string, cls: string, run: () => Promise<void>, busyLabel: string): HTMLElement {
  const status = h('span', { class: 'action-status', role: 'status' });
  const button = h('button', { type: 'button', class: cls }, label);
  button.addEventListener('click', () => {
    button.disabled = true;
    button.textContent = busyLabel;
    status.textContent = '';
    run().catch((err: unknown) => {
      button.disabled = false;
      button.textContent = label;
      status.textContent = err instanceof Error ? err.message : 'That did not work. Try again.';
      status.classList.add('error-text');
    });
  });
  return h('span', { class: 'action' }, button, status);
}

/**
 * A button that asks first, inside the pane: Office add-ins may not use `window.alert`/`confirm`/`prompt` (desktop
 * hosts never show them; https://learn.microsoft.com/office/dev/add-ins/develop/dialog-best-practices), so the
 * question and its two answers replace the button until one is chosen.
 */
function confirmButton(label: string, question: string, yes: string, run: () => Promise<void>, busyLabel: string): HTMLElement {
  const slot = h('span', { class: 'action' });
  const ask = h('button', { type: 'button', class: 'button subtle' }, label);
  const idle = () => slot.replaceChildren(ask);
  ask.addEventListener('click', () => {
    const cancel = h(
      'button',
      {
        type: 'button',
        class: 'button',
        onclick: () => {
          idle();
          ask.focus();
        },
      },
      'Cancel',
    );
    const confirm = actionButton(yes, 'button primary', run, busyLabel);
    slot.replaceChildren(
      h(
        'div',
        { class: 'confirm', role: 'group', 'aria-label': question },
        h('p', { class: 'confirm-question' }, question),
        h('div', { class: 'actions' }, confirm, cancel),
      ),
    );
    confirm.querySelector('button')?.focus();
  });
  idle();
  return slot;
}

function initials(name: string): string {
  const parts = name
    .replace(/[^\p{L}\p{N} ]/gu, ' ')
    .trim()
    .split(/\s+/);
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? parts[parts.length - 1]![0] : '')).toUpperCase();
}

/** `companiesShown` holds the companies already given their note and task forms in this view: once each. */
function person(p: AddonParticipant, actions: ViewActions, index: number, companiesShown: Set<string>): HTMLElement {
  const name = p.contact?.name || p.displayName || p.suggestion?.name || p.email;
  const role = { from: 'From', to: 'To', cc: 'Cc' }[p.role];
  const lines: (Node | null)[] = [
    h('div', { class: 'person-name' }, p.contact ? link(name, p.contact.openUrl, 'link strong') : h('span', { class: 'strong' }, name)),
    h('div', { class: 'person-sub' }, [p.email, p.contact?.title].filter(Boolean).join(' · ')),
  ];
  if (p.company) lines.push(h('div', { class: 'person-sub' }, link(p.company.name, p.company.openUrl)));
  if (p.teammate) lines.push(h('div', { class: 'badge' }, 'Your organisation'));
  else if (p.contact) lines.push(h('div', { class: 'badge badge-ok' }, 'Contact'));
  if (p.suggestion) lines.push(createForm(p.suggestion, actions, index));
  if (p.contact) lines.push(activityForms({ kind: 'contact', id: p.contact.id, name }, actions));
  if (p.company && !companiesShown.has(p.company.id)) {
    companiesShown.add(p.company.id);
    lines.push(activityForms({ kind: 'company', id: p.company.id, name: p.company.name }, actions));
  }
  return h(
    'li',
    { class: 'person', 'data-email': p.email },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name)),
    h('div', { class: 'person-body' }, h('span', { class: 'role' }, role), ...lines),
  );
}

/** One click creates the contact as suggested; "Edit details" lets the user correct the name or company first. */
function createForm(s: NonNullable<AddonParticipant['suggestion']>, actions: ViewActions, index: number): HTMLElement {
  const nameId = `cc-name-${index}`;
  const companyId = `cc-company-${index}`;
  const nameInput = h('input', { id: nameId, class: 'input', type: 'text', value: s.name, autocomplete: 'off' });
  const companyInput = h('input', { id: companyId, class: 'input', type: 'text', value: s.companyName ?? '', autocomplete: 'off', placeholder: 'No company' });
  const details = h(
    'details',
    { class: 'edit' },
    h('summary', {}, 'Edit details'),
    h('label', { for: nameId, class: 'label' }, 'Name'),
    nameInput,
    h('label', { for: companyId, class: 'label' }, 'Company'),
    companyInput,
  );
  const button = actionButton(
    'Create contact',
    'button primary',
    () =>
      actions.createContact({
        email: s.email,
        name: nameInput.value.trim(),
        companyName: companyInput.value.trim(),
      }),
    'Creating…',
  );
  button.querySelector('button')?.setAttribute('aria-label', `Create contact ${s.name || s.email}`);
  const summary = [s.name, s.companyName].filter(Boolean).join(' · ');
  // A role or group address (info@, "Ops Team") is not offered as a person; the form stays one click away.
  if (s.roleAddress) {
    return h(
      'div',
      { class: 'create' },
      h('div', { class: 'person-sub muted' }, 'A shared address, not a person: not suggested as a contact.'),
      h('details', { class: 'edit' }, h('summary', {}, 'Add as a contact anyway'), button, details),
    );
  }
  return h(
    'div',
    { class: 'create' },
    h('div', { class: 'person-sub muted' }, `Not in the CRM${summary ? `. Will be saved as ${summary}` : ''}.`),
    button,
    details,
  );
}

function dealsSection(view: AddonContextView, actions: ViewActions, context: ViewContext): HTMLElement | null {
  const mid = view.thisMessage.status === 'synced' ? view.thisMessage.internetMessageId : null;
  const contactIds = [...new Set(view.participants.flatMap((p) => (p.contact ? [p.contact.id] : [])))];
  if (view.deals.length === 0 && contactIds.length === 0) return null;
  const rows = view.deals.map((d) =>
    h(
      'li',
      { class: 'row', 'data-deal': d.id },
      link(d.name, d.openUrl, 'link strong'),
      h(
        'div',
        { class: 'person-sub' },
        [d.stage, formatAmount(d.amount, d.currency), d.closeDate ? `closes ${formatDate(d.closeDate)}` : ''].filter(Boolean).join(' · '),
      ),
      mid ? actionButton('Attach this thread', 'button subtle', () => actions.attachToDeal(d.id, mid), 'Attaching…') : null,
      activityForms({ kind: 'deal', id: d.id, name: d.name }, actions),
    ),
  );
  let create: HTMLElement | null = null;
  if (contactIds.length > 0) {
    const nameInput = h('input', { id: 'new-deal-name', class: 'input', type: 'text', value: context.subject, autocomplete: 'off', maxlength: 200 });
    const button = actionButton(
      'Create deal',
      'button primary',
      async () => {
        const name = nameInput.value.trim();
        if (!name) throw new Error('Give the deal a name.');
        await actions.createDeal({ name, contactIds, internetMessageId: mid });
      },
      'Creating…',
    );
    create = h(
      'details',
      { class: 'edit new-deal' },
      h('summary', {}, 'New deal with these people'),
      h('label', { for: 'new-deal-name', class: 'label' }, 'Deal name'),
      nameInput,
      h(
        'p',
        { class: 'person-sub muted' },
        mid ? 'This email’s thread is attached to the new deal.' : 'This email is not in the CRM yet, so only its people are on the deal.',
      ),
      button,
    );
  }
  return section(
    'Open deals',
    'sec-deals',
    rows.length ? h('ul', { class: 'list' }, rows) : h('p', { class: 'muted' }, 'No open deals with these people.'),
    create,
  );
}

export function renderView(view: AddonContextView, actions: ViewActions, context: ViewContext = { subject: '' }): HTMLElement {
  const root = h('div', { class: 'view' });
  const people = view.participants;
  const companiesShown = new Set<string>();
  root.append(
    section(
      'People',
      'sec-people',
      people.length === 0
        ? h('p', { class: 'muted' }, 'No one else is on this email.')
        : h(
            'ul',
            { class: 'people' },
            people.map((p, i) => person(p, actions, i, companiesShown)),
          ),
      view.participantsOmitted > 0 ? h('p', { class: 'muted' }, `And ${view.participantsOmitted} more not shown.`) : null,
    ),
  );

  const deals = dealsSection(view, actions, context);
  if (deals) root.append(deals);

  root.append(
    section(
      'Recent conversation',
      'sec-recent',
      view.recentMessages.length === 0
        ? h('p', { class: 'muted' }, 'No earlier mail with these people that you may see.')
        : h(
            'ul',
            { class: 'list messages' },
            view.recentMessages.map((m) =>
              h(
                'li',
                { class: 'row message' },
                h('div', { class: 'person-sub' }, `${formatDate(m.date)} · ${m.from.name || m.from.email}`),
                link(m.subject || '(no subject)', m.openUrl, 'link strong'),
                m.snippet ? h('div', { class: 'snippet' }, m.snippet) : null,
              ),
            ),
          ),
    ),
  );

  root.append(thisEmail(view, actions));
  const choice = yourChoice(view, actions);
  if (choice) root.append(choice);
  const health = syncHealth(view);
  if (health) root.append(health);
  root.append(h('footer', { class: 'footer' }, link('Open Threadline', view.links.crm)));
  return root;
}

function thisEmail(view: AddonContextView, actions: ViewActions): HTMLElement {
  const m = view.thisMessage;
  const status =
    m.status === 'synced'
      ? `Synced by ${m.syncedBy.map((u) => (u.isYou ? 'you' : u.name || u.email)).join(', ')}`
      : m.status === 'not_visible'
        ? 'In the CRM, shared privately by its holder'
        : m.status === 'not_synced'
          ? 'Not in the CRM'
          : 'Cannot tell: this email has no Message-ID';
  const sender = view.participants.find((p) => p.role === 'from');
  const openUrl = m.openUrl ?? view.participants.find((p) => p.contact)?.contact?.openUrl ?? view.links.crm;
  const why = whyDetails(
    m.status === 'synced' ? 'Why is this email here?' : "Why isn't this email here?",
    { messageId: m.internetMessageId, email: sender?.email ?? null },
    actions,
  );
  return section(
    'This email',
    'sec-this',
    h('p', { class: `status status-${m.status}`, 'data-testid': 'this-email-status' }, status),
    h(
      'div',
      { class: 'actions' },
      link('Open in CRM', openUrl, 'button'),
      sender && !sender.teammate
        ? confirmButton(
            'Never log this sender',
            `Never log email from ${sender.email} to the CRM? Their past mail leaves the CRM too.`,
            'Never log',
            () => actions.neverLogSender(sender.email),
            'Saving…',
          )
        : null,
    ),
    why,
  );
}

/**
 * "Why (isn't) this email here?" asked of the server when opened (`GET /api/why`, from stored facts and the current
 * rules), its reasons shown in its words; asked again when reopened after a failure.
 */
function whyDetails(title: string, query: { messageId: string | null; email: string | null }, actions: ViewActions): HTMLElement {
  const reasons = h('ul', { class: 'reasons', 'aria-live': 'polite', 'data-testid': 'why-reasons' });
  const details = h('details', { class: 'why' }, h('summary', {}, title), reasons);
  let state: 'idle' | 'asking' | 'answered' = 'idle';
  details.addEventListener('toggle', () => {
    if (!details.open || state !== 'idle') return;
    if (!query.messageId && !query.email) {
      reasons.replaceChildren(h('li', {}, 'This email has no Message-ID or sender Threadline could look up.'));
      return;
    }
    state = 'asking';
    reasons.replaceChildren(h('li', { class: 'muted' }, 'Asking Threadline…'));
    actions.why(query).then(
      (answer) => {
        state = 'answered';
        reasons.dataset.verdict = answer.verdict;
        reasons.replaceChildren(
          ...(answer.reasons.length > 0 ? answer.reasons.map((r) => h('li', { 'data-code': r.code }, r.message)) : [h('li', {}, 'Threadline gave no reason.')]),
        );
      },
      (err: unknown) => {
        state = 'idle';
        reasons.replaceChildren(h('li', { class: 'error-text' }, err instanceof Error ? err.message : 'That did not work. Try again.'));
      },
    );
  });
  return details;
}

/**
 * "Your choice for this email": the server's state for the open email (`thisMessage.choices`) in the words and
 * buttons the Gmail card uses (shared/src/choices.ts): log it or not, this email or its thread, and — when the user
 * holds a copy — how much of it teammates get.
 */
function yourChoice(view: AddonContextView, actions: ViewActions): HTMLElement | null {
  const m = view.thisMessage;
  const c = m.choices;
  if (!c || !m.internetMessageId) return null;
  const mid = m.internetMessageId;
  const words = choiceWords(c);
  const logging = loggingChoices(c).map((l) =>
    actionButton(l.label, 'button', () => (l.action === 'logAgain' ? actions.logAgain(l.exclusionId, l.scope) : actions.dontLog(mid, l.scope)), 'Saving…'),
  );
  const messageId = m.messageId;
  const sharing =
    words.sharing && messageId
      ? [
          h('p', { class: 'choice', 'data-testid': 'choice-sharing' }, words.sharing),
          h(
            'div',
            { class: 'actions' },
            sharingChoices(c).map((s) => actionButton(s.label, 'button', () => actions.setSharing(messageId, s.level), 'Saving…')),
          ),
        ]
      : [];
  return section(
    'Your choice for this email',
    'sec-choice',
    h('p', { class: 'choice', 'data-testid': 'choice-logging' }, words.logging),
    h('div', { class: 'actions' }, logging),
    ...sharing,
  );
}

function syncHealth(view: AddonContextView): HTMLElement | null {
  if (view.sync.status === 'ok') return null;
  if (view.sync.status === 'not_connected') {
    return section(
      'Your mailbox sync',
      'sec-sync',
      h('p', { class: 'muted' }, 'Your mailbox is not connected, so your mail is not synced to the CRM in the background.'),
      link('Connect mailbox', view.sync.connectUrl, 'button'),
    );
  }
  return section(
    'Your mailbox sync',
    'sec-sync',
    h(
      'ul',
      { class: 'list' },
      view.sync.mailboxes
        .filter((b) => b.problem)
        .map((b) =>
          h(
            'li',
            { class: 'row warning' },
            h('div', { class: 'strong' }, `${b.address} · ${b.state.replace('_', ' ')}`),
            h('div', {}, b.problem!.message),
            h('div', { class: 'person-sub' }, b.problem!.fix),
          ),
        ),
    ),
  );
}
