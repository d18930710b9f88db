/**
 * A record's timeline: its messages newest first, a page at a time (the API's opaque `nextCursor`), each with
 * who it is from, when, the snippet, attachments and who synced it.
 */
import { api, q } from '../api';
import { empty, failure, formatDateTime, h, loading, show } from '../dom';
import { currentSession } from '../session';
import type { MessagePage, MessageSummary } from '../types';

const PAGE = 25;

export function syncedByWords(ids: string[]): string {
  const me = currentSession()?.user.id;
  const others = ids.filter((id) => id !== me).length;
  const parts = [ids.includes(me ?? '') ? 'you' : '', others ? `${others} teammate${others === 1 ? '' : 's'}` : ''].filter(Boolean);
  return parts.length ? `Synced by ${parts.join(' and ')}` : '';
}

const DIRECTION: Record<MessageSummary['direction'], string> = { inbound: 'Received', outbound: 'Sent', internal: 'Internal' };

export function messageItem(m: MessageSummary): HTMLElement {
  return h(
    'li',
    { class: 'message-item', 'data-message': m.id },
    h(
      'a',
      { class: 'message-link', href: `#/messages/${m.id}` },
      h('span', { class: 'message-subject' }, m.subject || '(no subject)'),
      h('span', { class: 'muted' }, ` · ${m.from.name || m.from.email}`),
    ),
    h(
      'div',
      { class: 'message-meta muted' },
      h('span', {}, `${DIRECTION[m.direction]} ${formatDateTime(m.date)}`),
      m.hasAttachments ? h('span', { class: 'badge' }, 'Attachments') : null,
      m.state.starred ? h('span', { class: 'badge' }, 'Starred') : null,
      h('span', {}, syncedByWords(m.syncedBy)),
    ),
    m.snippet ? h('p', { class: 'snippet' }, m.snippet) : null,
  );
}

/** The timeline of `/api/<record>/<id>/messages`; `reload()` starts again from the newest. */
export function timeline(path: string, signal: AbortSignal): { el: HTMLElement; reload(): void } {
  const list = h('ul', { class: 'timeline', 'aria-label': 'Timeline' });
  const status = h('div', {});
  const more = h('button', { class: 'button', type: 'button', hidden: true }, 'Load older messages');
  const el = h('section', { class: 'section', 'aria-labelledby': 'timeline-title' }, h('h2', { id: 'timeline-title' }, 'Timeline'), status, list, more);
  let cursor: string | null = null;
  let generation = 0;

  async function load(first: boolean): Promise<void> {
    const mine = first ? ++generation : generation;
    if (first) {
      list.replaceChildren();
      cursor = null;
      show(status, loading('Loading messages…'));
    }
    more.disabled = true;
    try {
      const page = await api<MessagePage>('GET', `${path}${q({ limit: PAGE, cursor })}`, { signal });
      if (mine !== generation) return; // a reload started meanwhile
      list.append(...page.messages.map(messageItem));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      show(status, list.childElementCount ? null : empty('No email yet', 'Mail with this record appears here once a teammate’s mailbox has synced it.'));
    } catch (err) {
      if (!signal.aborted)
        show(
          status,
          failure(err, () => void load(first)),
        );
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => void load(false));
  void load(true);
  return { el, reload: () => void load(true) };
}
