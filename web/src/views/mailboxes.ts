/**
 * Connect a mailbox, and each mailbox's sync health: state, import progress, last sync, the last error in words
 * with its fix, Resync and Disconnect. Polled every few seconds (every second while a mailbox imports, so the bar
 * moves); cards are updated in place so keyboard focus on a button survives a refresh.
 */
import { api, ApiFailure } from '../api';
import { empty, failure, formatAgo, formatDateTime, h, loading, PROVIDER_WORDS, show, toast } from '../dom';
import { currentSession } from '../session';
import type { Mailbox, MailboxState, Provider } from '../types';
import type { View } from './view';

const POLL_MS = 4000;
/** While a mailbox imports, its bar is refreshed often enough to be seen moving. */
const IMPORT_POLL_MS = 1000;

const STATE_WORDS: Record<MailboxState, [string, string]> = {
  backfilling: ['Importing', 'info'],
  live: ['Live', 'ok'],
  throttled: ['Slowed down by the provider', 'warn'],
  error: ['Error', 'danger'],
  reauth_required: ['Reconnect needed', 'danger'],
  paused: ['Paused', 'muted'],
};

async function connect(provider: Provider, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    const { authorizationUrl } = await api<{ authorizationUrl: string }>('POST', '/api/mailboxes/connect', { body: { provider } });
    // The provider's consent page; its callback page links back to #/mailboxes.
    location.assign(authorizationUrl);
  } catch (err) {
    button.disabled = false;
    toast(err instanceof Error ? err.message : String(err), 'error');
  }
}

function card(m: Mailbox, refresh: () => void): { el: HTMLElement; update(m: Mailbox): void } {
  const badge = h('span', { class: 'badge' });
  const bar = h('progress', { max: 1, value: 0 });
  const progressText = h('span', { class: 'muted' });
  const progress = h('div', { class: 'progress' }, h('label', {}, 'Import ', bar), ' ', progressText);
  const lastSync = h('span', {});
  const problem = h('div', { class: 'problem', role: 'note' });
  const resync = h('button', { class: 'button', type: 'button' }, 'Resync');
  const disconnect = h('button', { class: 'button button-danger', type: 'button' }, 'Disconnect');
  let current = m;
  resync.addEventListener('click', async () => {
    resync.disabled = true;
    try {
      await api('POST', `/api/mailboxes/${current.id}/resync`);
      toast(`Resync of ${current.address} scheduled`);
      refresh();
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), 'error');
    } finally {
      resync.disabled = false;
    }
  });
  disconnect.addEventListener('click', async () => {
    if (!window.confirm(disconnectQuestion(current))) return;
    disconnect.disabled = true;
    try {
      await api('DELETE', `/api/mailboxes/${current.id}`);
      toast(`${current.address} disconnected`);
      refresh();
    } catch (err) {
      disconnect.disabled = false;
      toast(err instanceof Error ? err.message : String(err), 'error');
    }
  });
  const title = h('h3', { class: 'card-title' });
  const el = h(
    'li',
    { class: 'card mailbox', 'data-mailbox': m.id },
    h('div', { class: 'card-head' }, title, badge),
    progress,
    h('p', { class: 'muted' }, 'Last sync: ', lastSync),
    problem,
    h('div', { class: 'actions' }, resync, disconnect),
  );

  function update(next: Mailbox): void {
    current = next;
    title.textContent = `${next.address} · ${PROVIDER_WORDS[next.provider]}`;
    const [words, kind] = STATE_WORDS[next.state] ?? [next.state, 'muted'];
    badge.textContent = words;
    badge.className = `badge badge-${kind}`;
    badge.dataset.state = next.state;
    const { imported, total } = next.progress;
    bar.max = Math.max(total, 1);
    bar.value = Math.min(imported, bar.max);
    progressText.textContent = total > 0 ? `${imported} of ${total} messages` : next.state === 'backfilling' ? 'counting messages…' : `${imported} messages`;
    progress.hidden = next.state !== 'backfilling' && imported >= total;
    lastSync.textContent = formatAgo(next.lastSyncedAt);
    if (next.lastError) {
      show(
        problem,
        h('p', { class: 'error-text' }, `${next.lastError.message} (${formatDateTime(next.lastError.at)})`),
        next.lastError.fix ? h('p', {}, next.lastError.fix) : null,
        next.state === 'reauth_required'
          ? h(
              'button',
              { class: 'button button-primary', type: 'button', onclick: (ev: Event) => void connect(next.provider, ev.currentTarget as HTMLButtonElement) },
              'Reconnect',
            )
          : null,
      );
    } else show(problem);
    problem.hidden = !next.lastError;
    resync.disabled = next.state === 'reauth_required';
  }
  update(m);
  return { el, update };
}

export const mailboxesView: View = (main, _route, signal) => {
  const list = h('ul', { class: 'cards', 'aria-label': 'Mailboxes' });
  const status = h('div', {}, loading('Loading mailboxes…'));
  const buttons = (['google', 'microsoft'] as const).map((p) =>
    h(
      'button',
      { class: 'button button-primary', type: 'button', onclick: (ev: Event) => void connect(p, ev.currentTarget as HTMLButtonElement) },
      `Connect ${PROVIDER_WORDS[p]}`,
    ),
  );
  const admin = currentSession()?.user.role === 'admin';
  show(
    main,
    h('h1', {}, 'Mailboxes'),
    h('p', { class: 'muted' }, admin ? 'Every mailbox of your organisation and how its sync is doing.' : 'Your mailboxes and how their sync is doing.'),
    h('div', { class: 'actions' }, ...buttons),
    status,
    list,
  );

  const cards = new Map<string, ReturnType<typeof card>>();
  let timer = 0;
  async function refresh(): Promise<void> {
    window.clearTimeout(timer);
    let importing = false;
    try {
      const { mailboxes } = await api<{ mailboxes: Mailbox[] }>('GET', '/api/mailboxes', { signal });
      for (const [id, c] of cards)
        if (!mailboxes.some((m) => m.id === id)) {
          c.el.remove();
          cards.delete(id);
        }
      for (const m of mailboxes) {
        const existing = cards.get(m.id);
        if (existing) existing.update(m);
        else {
          const c = card(m, () => void refresh());
          cards.set(m.id, c);
          list.append(c.el);
        }
      }
      importing = mailboxes.some((m) => m.state === 'backfilling');
      show(
        status,
        mailboxes.length ? null : empty('No mailbox connected yet', 'Connect Gmail or Outlook: Threadline imports its mail and keeps it in sync both ways.'),
      );
    } catch (err) {
      if (signal.aborted) return;
      if (!(err instanceof ApiFailure && err.status === 401))
        show(
          status,
          failure(err, () => void refresh()),
        );
    }
    if (!signal.aborted) timer = window.setTimeout(() => void refresh(), importing ? IMPORT_POLL_MS : POLL_MS);
  }
  signal.addEventListener('abort', () => window.clearTimeout(timer));
  void refresh();
};

/**
 * What disconnecting does, said plainly per provider. Google revokes the grant on request; Microsoft offers no
 * endpoint that revokes a refresh token (docs/SECURITY.md, "Disconnecting"), so Threadline deletes it and stops the
 * subscription, and the user removes the app's permission themselves if they want the grant gone too.
 */
export function disconnectQuestion(m: { address: string; provider: string }): string {
  const common = 'Mail only this mailbox held leaves the CRM.';
  if (m.provider === 'microsoft') {
    return (
      `Disconnect ${m.address}? Threadline deletes its tokens and stops its change notifications at once, so it never reads this mailbox again. ` +
      'Microsoft offers no way for an app to revoke its own sign-in: to withdraw the permission itself, remove Threadline at https://myapps.microsoft.com ' +
      `(or ask your Microsoft 365 admin). ${common}`
    );
  }
  return `Disconnect ${m.address}? Threadline revokes its access at Google and deletes its tokens. ${common}`;
}
