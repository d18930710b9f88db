/**
 * "Your choice for this email" (docs/sidebars.md) on a message's page, and the list of "don't log" choices in
 * Settings: the server's state (`GET /api/messages/:id/choices`, `GET /api/me/excluded-messages`) in the words and
 * buttons the sidebars use (shared/src/choices.ts). Each button is one call; the section is then drawn again from
 * the server, and a failed call says why beside its button and changes nothing.
 */
import { api, ApiFailure } from '../api';
import { formatDateTime, h, show } from '../dom';
import {
  type ChoiceDone,
  choiceDoneWords,
  choiceWords,
  type LogScope,
  loggingChoices,
  type MessageChoices,
  sharingChoices,
} from '@threadline/shared/src/choices';

interface Exclusion {
  id: string;
  scope: LogScope;
  createdAt: string;
}

const logAgainCall = (id: string) => api('DELETE', `/api/me/excluded-messages/${encodeURIComponent(id)}`);

/**
 * The section for one message. `gone` is called when the caller's choice took the email out of the CRM for them
 * (no other holder they may see keeps it): the page then shows only this section, which still offers "Log … again".
 */
export function choiceSection(messageId: string, gone: (section: HTMLElement) => void): HTMLElement {
  const body = h('div', {}, h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading your choice…'));
  const status = h('p', { class: 'muted', role: 'status' });
  const section = h(
    'section',
    { class: 'section choices', 'aria-labelledby': 'choice-title' },
    h('h2', { id: 'choice-title' }, 'Your choice for this email'),
    body,
    status,
  );
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
  const choicesNow = () => api<MessageChoices>('GET', `/api/messages/${encodeURIComponent(messageId)}/choices`);

  /** A button with its own line for what went wrong, so a failure is read beside the button that failed. */
  const button = (label: string, done: ChoiceDone, call: () => Promise<unknown>) => {
    const error = h('span', { class: 'action-error error-text', role: 'alert' });
    const b = h('button', { class: 'button', type: 'button', onclick: () => void run(done, call, error) }, label);
    return h('span', { class: 'action' }, b, error);
  };

  function draw(c: MessageChoices | null): void {
    if (!c) return show(body);
    const words = choiceWords(c);
    const logging = loggingChoices(c).map((l) =>
      l.action === 'logAgain'
        ? button(l.label, l, () => logAgainCall(l.exclusionId))
        : button(l.label, l, () => api('POST', '/api/me/excluded-messages', { body: { messageId, scope: l.scope } })),
    );
    const sharing = sharingChoices(c).map((s) =>
      button(s.label, { action: 'setSharing', level: s.level }, () =>
        api('PUT', `/api/messages/${encodeURIComponent(messageId)}/visibility`, { body: { level: s.level } }),
      ),
    );
    show(
      body,
      h('p', { 'data-testid': 'choice-logging' }, words.logging),
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Logging' }, logging),
      words.sharing ? h('p', { 'data-testid': 'choice-sharing' }, words.sharing) : null,
      sharing.length ? h('div', { class: 'actions', role: 'group', 'aria-label': 'Sharing' }, sharing) : null,
    );
  }

  async function run(done: ChoiceDone, call: () => Promise<unknown>, error: HTMLElement): Promise<void> {
    const buttons = Array.from(body.querySelectorAll('button'));
    for (const b of buttons) b.disabled = true;
    for (const e of Array.from(body.querySelectorAll('.action-error'))) e.textContent = '';
    status.textContent = 'Saving…';
    let answer: unknown;
    try {
      answer = await call();
    } catch (err) {
      // Nothing changed: the buttons stay as they were, and no earlier success stands beside this failure.
      for (const b of buttons) b.disabled = false;
      status.textContent = '';
      error.textContent = message(err);
      return;
    }
    // Said once the section shows the server's state after the choice, never beside the state before it.
    try {
      draw(await choicesNow());
      status.textContent = choiceDoneWords(done);
    } catch (err) {
      if (!(err instanceof ApiFailure && err.status === 404)) {
        status.textContent = `${choiceDoneWords(done)} The page could not show it yet: ${message(err)}`;
        return;
      }
      // The email left the CRM for the caller: what is left to offer is lifting the choice just made (its answer says
      // which), and after "Log … again" nothing until the mailbox's next run brings the email back.
      draw(done.action === 'dontLog' ? { notLogged: answer as Exclusion, sharing: null } : null);
      gone(section);
      status.textContent = choiceDoneWords(done);
    }
  }

  choicesNow().then(draw, (err: unknown) => show(body, h('p', { class: 'error-text' }, `Your choice for this email cannot be shown: ${message(err)}`)));
  return section;
}

/** Settings: the caller's "don't log" choices, each with "Log again" — the way back once the email is nowhere to open. */
export function exclusionsPanel(): HTMLElement {
  const list = h('ul', { class: 'rows' });
  const status = h('p', { class: 'muted', role: 'status' });
  const panel = h(
    'section',
    { class: 'settings', 'aria-labelledby': 'not-logged-title' },
    h('h2', { id: 'not-logged-title' }, 'Emails you chose not to log'),
    h('p', { class: 'muted' }, 'Chosen from a sidebar or a message’s page. Nothing of these emails is kept, so they are listed by date only.'),
    list,
    status,
  );
  const say = (text: string, error = false) => {
    status.textContent = text;
    status.classList.toggle('error-text', error);
  };
  /** "Log again" for one choice: the list is then read again; a failure is said beside the button, the row stays. */
  const logAgainButton = (e: Exclusion) => {
    const error = h('span', { class: 'action-error error-text', role: 'alert' });
    const b = h(
      'button',
      {
        class: 'button',
        type: 'button',
        onclick: async () => {
          b.disabled = true;
          error.textContent = '';
          try {
            await logAgainCall(e.id);
          } catch (err) {
            b.disabled = false;
            error.textContent = err instanceof Error ? err.message : String(err);
            return;
          }
          say(choiceDoneWords({ action: 'logAgain', scope: e.scope }));
          void load();
        },
      },
      'Log again',
    );
    return h('span', { class: 'action' }, b, error);
  };
  const draw = (exclusions: (Exclusion & { copies: number })[]) =>
    show(
      list,
      exclusions.length === 0
        ? h('li', { class: 'row muted' }, 'None.')
        : exclusions.map((e) =>
            h(
              'li',
              { class: 'row', 'data-exclusion': e.id },
              h(
                'span',
                {},
                `${e.scope === 'thread' ? 'A thread' : 'An email'}, chosen ${formatDateTime(e.createdAt)}${e.copies ? ` (${e.copies} ${e.copies === 1 ? 'copy' : 'copies'} kept out)` : ''} `,
              ),
              logAgainButton(e),
            ),
          ),
    );
  const load = () =>
    api<{ exclusions: (Exclusion & { copies: number })[] }>('GET', '/api/me/excluded-messages').then(
      (r) => draw(r.exclusions),
      (err: unknown) => say(err instanceof Error ? err.message : String(err), true),
    );
  void load();
  return panel;
}
