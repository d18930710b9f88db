/// <reference types="office-js" />
/**
 * The task pane's entry: reads the selected email, asks the server for the view (`POST /api/addon/context`) and
 * renders it; follows ItemChanged while pinned (Mailbox 1.5). Everything about the CRM comes from the server's
 * view model; this file only wires Office, sign-in and the DOM together.
 */
import type { AddonContextResponse, AddonMessageInput } from '@threadline/shared/src/api/addon-view';
import { type ChoiceDone, choiceDoneWords } from '@threadline/shared/src/choices';
import type { WhyAnswer } from '@threadline/shared/src/api/privacy';
import type { RecordRef, TaskInput } from './activity';
import { ApiError, callApi } from './api';
import { createAuth, type Session, SignInRequired } from './auth';
import { readConfig } from './config';
import { h } from './dom';
import { createFollower } from './follow';
import { itemKey, readMessage, type ReadItemLike } from './item';
import { renderView, type ViewActions } from './render';
import { type ContactHit, searchPanel } from './search';
import { emptyState, errorState, loadingState, signInState } from './states';

/** Long enough to skip the emails passed over with arrow keys, short enough to feel immediate. */
const ITEM_DEBOUNCE_MS = 250;
/** Long enough to read a sentence saying what a click did. */
const NOTICE_MS = 8000;

function start(): void {
  const main = document.getElementById('main')!;
  const show = (el: HTMLElement) => {
    main.replaceChildren(el);
    main.setAttribute('aria-busy', el.dataset.state === 'loading' ? 'true' : 'false');
  };
  const config = readConfig(document);
  const auth = createAuth(config, location.origin);
  const current = (): AddonMessageInput | null => readMessage(Office.context.mailbox.item as ReadItemLike | null);

  /** Calls the API with the session, getting one silently first; a 401 forgets it so the next try signs in again. */
  const withSession = async <T>(call: (s: Session) => Promise<T>): Promise<T> => {
    const session = await auth.session();
    try {
      return await call(session);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        auth.forget();
        throw new SignInRequired('Your session has ended. Sign in again.');
      }
      throw err;
    }
  };

  let shownKey = '';
  const follower = createFollower<AddonMessageInput, AddonContextResponse>({
    debounceMs: ITEM_DEBOUNCE_MS,
    read: current,
    load: (message, signal) =>
      withSession((s) =>
        callApi<AddonContextResponse>('/api/addon/context', {
          method: 'POST',
          token: s.token,
          signal,
          body: { provider: 'outlook', message },
        }),
      ),
    view: {
      loading: () => {
        shownKey = '';
        show(loadingState());
      },
      empty: () => {
        shownKey = '';
        show(emptyState());
      },
      ready: (answer, message) => {
        shownKey = itemKey(message);
        const view = renderView(answer.view, actions, { subject: message.subject ?? '' });
        view.dataset.item = message.internetMessageId ?? '';
        show(view);
      },
      failed: (err) => {
        shownKey = '';
        if (err instanceof SignInRequired) show(signInState(err.message, () => void signIn()));
        else show(errorState(describe(err), () => follower.refresh()));
      },
    },
  });

  /**
   * One "this email, my choice" call; a failure is said in words beside its button (nothing else changes), a success
   * above the view, which is then drawn afresh from the server.
   */
  const choose = async (done: ChoiceDone, call: (s: Session) => Promise<unknown>): Promise<void> => {
    try {
      await withSession(call);
    } catch (err) {
      // A success said earlier must not stand beside this failure.
      clearNotice();
      throw new Error(describe(err));
    }
    showNotice(choiceDoneWords(done));
    follower.refresh();
  };

  const actions: ViewActions = {
    async createContact(input: { email: string; name: string; companyName: string }) {
      await withSession((s) =>
        callApi('/api/contacts', {
          method: 'POST',
          token: s.token,
          body: { email: input.email, ...(input.name ? { name: input.name } : {}), ...(input.companyName ? { companyName: input.companyName } : {}) },
        }).catch((err: unknown) => {
          // Someone created them meanwhile (another teammate, another window): the refresh will show them.
          if (err instanceof ApiError && err.status === 409) return;
          throw err;
        }),
      );
      follower.refresh();
    },
    async addNote(record: RecordRef, body: string) {
      await withSession((s) => callApi('/api/notes', { method: 'POST', token: s.token, body: { record: { kind: record.kind, id: record.id }, body } }));
    },
    async addTask(record: RecordRef, task: TaskInput) {
      await withSession((s) =>
        callApi('/api/tasks', {
          method: 'POST',
          token: s.token,
          body: {
            record: { kind: record.kind, id: record.id },
            title: task.title,
            ...(task.dueDate ? { dueDate: task.dueDate } : {}),
            ...(task.assigneeEmail ? { assigneeEmail: task.assigneeEmail } : {}),
          },
        }),
      );
    },
    async attachToDeal(dealId: string, internetMessageId: string) {
      await withSession((s) =>
        callApi(`/api/deals/${encodeURIComponent(dealId)}/mail`, { method: 'POST', token: s.token, body: { internetMessageId, scope: 'thread' } }),
      );
      follower.refresh();
    },
    async createDeal(input: { name: string; contactIds: string[]; internetMessageId: string | null }) {
      await withSession(async (s) => {
        const deal = await callApi<{ id: string }>('/api/deals', { method: 'POST', token: s.token, body: { name: input.name, contactIds: input.contactIds } });
        if (input.internetMessageId) {
          await callApi(`/api/deals/${encodeURIComponent(deal.id)}/mail`, {
            method: 'POST',
            token: s.token,
            body: { internetMessageId: input.internetMessageId, scope: 'thread' },
          });
        }
      });
      follower.refresh();
    },
    dontLog: (internetMessageId, scope) =>
      choose({ action: 'dontLog', scope }, (s) => callApi('/api/me/excluded-messages', { method: 'POST', token: s.token, body: { internetMessageId, scope } })),
    logAgain: (exclusionId, scope) =>
      choose({ action: 'logAgain', scope }, (s) =>
        callApi(`/api/me/excluded-messages/${encodeURIComponent(exclusionId)}`, { method: 'DELETE', token: s.token }),
      ),
    setSharing: (messageId, level) =>
      choose({ action: 'setSharing', level }, (s) =>
        callApi(`/api/messages/${encodeURIComponent(messageId)}/visibility`, { method: 'PUT', token: s.token, body: { level } }),
      ),
    // The server explains from stored facts and the current rules, as for the Gmail card; the email's date (when the
    // host gives it) lets it tell "older than the sync window" from "arriving".
    async why({ messageId, email }) {
      const created = (Office.context.mailbox.item as { dateTimeCreated?: Date } | null)?.dateTimeCreated;
      const date = created instanceof Date && !Number.isNaN(created.getTime()) ? created.toISOString() : '';
      const query = [
        ['messageId', messageId ?? ''],
        ['email', email ?? ''],
        ['date', date],
      ]
        .filter(([, v]) => v)
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
        .join('&');
      try {
        return await withSession((s) => callApi<WhyAnswer>(`/api/why?${query}`, { token: s.token }));
      } catch (err) {
        throw new Error(describe(err));
      }
    },
    // The server answers at once and removes the sender's past mail afterwards; "Undo" stays offered until its deadline.
    async neverLogSender(email: string) {
      const done = await withSession((s) =>
        callApi<{ email: string; undoUntil: string }>('/api/me/excluded-senders', { method: 'POST', token: s.token, body: { email } }),
      );
      showUndo(done);
      follower.refresh();
    },
  };

  main.before(
    searchPanel({
      search: (q, signal) =>
        withSession((s) => callApi<{ contacts: ContactHit[] }>(`/api/contacts?q=${encodeURIComponent(q)}&limit=20`, { token: s.token, signal })).then(
          (r) => r.contacts,
        ),
      // The server serves the pane and the CRM on one origin.
      contactUrl: (id) => `${location.origin}/app/contacts/${encodeURIComponent(id)}`,
      describe,
    }),
  );

  // Above the view, so redrawing the email's view (or moving to another email) keeps the offer in sight.
  const notice = h('div', { class: 'notice', role: 'status', hidden: true });
  main.before(notice);
  let noticeTimer: ReturnType<typeof setTimeout> | undefined;
  const clearNotice = () => {
    clearTimeout(noticeTimer);
    notice.hidden = true;
    notice.replaceChildren();
  };
  const showNotice = (text: string) => {
    clearNotice();
    notice.append(h('p', {}, text));
    notice.hidden = false;
    noticeTimer = setTimeout(clearNotice, NOTICE_MS);
  };
  const showUndo = (done: { email: string; undoUntil: string }) => {
    clearNotice();
    const undo = h('button', { type: 'button', class: 'button' }, 'Undo');
    undo.addEventListener('click', () => {
      undo.disabled = true;
      withSession((s) => callApi(`/api/me/excluded-senders/${encodeURIComponent(done.email)}`, { method: 'DELETE', token: s.token }))
        .then(() => {
          clearNotice();
          follower.refresh();
        })
        .catch((err: unknown) => {
          undo.disabled = false;
          notice.append(h('p', { class: 'error-text' }, describe(err)));
        });
    });
    notice.append(h('p', {}, `Mail from ${done.email} is no longer logged; their past mail is being removed from the CRM.`), undo);
    notice.hidden = false;
    noticeTimer = setTimeout(clearNotice, Math.max(0, Date.parse(done.undoUntil) - Date.now()));
  };

  const signIn = async () => {
    show(loadingState());
    try {
      await auth.signIn();
      follower.refresh();
    } catch (err) {
      show(signInState(describe(err), () => void signIn()));
    }
  };

  // Outlook on the web opens links inside its frame unless asked otherwise; openBrowserWindow is the supported way.
  main.addEventListener('click', (ev) => {
    const a = (ev.target as Element | null)?.closest?.('a[href]');
    if (!a || !Office.context.requirements.isSetSupported('OpenBrowserWindowApi', '1.1')) return;
    ev.preventDefault();
    Office.context.ui.openBrowserWindow((a as HTMLAnchorElement).href);
  });

  // ItemChanged exists from Mailbox 1.5 (the manifest's requirement); only a pinned pane receives it.
  Office.context.mailbox.addHandlerAsync(Office.EventType.ItemChanged, () => {
    // Selecting the same email again (or Outlook repeating the event) keeps what is on screen.
    if (shownKey && itemKey(current()) === shownKey) return;
    follower.changed();
  });
  follower.changed();
}

function describe(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 429) return 'Threadline is busy. Try again in a moment.';
    if (err.status >= 500) return 'Threadline could not answer just now. Try again in a moment.';
    return err.message;
  }
  if (err instanceof TypeError) return 'Threadline could not be reached. Check your connection and try again.';
  return err instanceof Error ? err.message : 'Something went wrong.';
}

void Office.onReady((info) => {
  if (info.host !== Office.HostType.Outlook) {
    document.getElementById('main')!.replaceChildren(errorState('This add-in runs in Outlook.', () => location.reload()));
    return;
  }
  start();
});
