/**
 * One message: headers, the body (html sandboxed, remote images off until asked), attachments as downloads, who
 * synced it, the read/star/archive/label/delete actions written through to the caller's mailbox, reply, and the
 * caller's own choice for this email (log it or not, share it or not: ./choices.ts).
 */
import { api, apiBlob } from '../api';
import { failure, formatDateTime, formatSize, h, loading, person, show, toast } from '../dom';
import { countRemoteImages, emailFrame, textBody } from '../email-frame';
import type { MessageDetail, MessageFlags, MessageSummary } from '../types';
import { choiceSection } from './choices';
import { composer } from './compose';
import { messageItem, syncedByWords } from './timeline';
import type { View } from './view';

async function download(messageId: string, a: MessageDetail['attachments'][number]): Promise<void> {
  try {
    const blob = await apiBlob(`/api/messages/${messageId}/attachments/${encodeURIComponent(a.id)}`);
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: a.filename || 'attachment' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    toast(err instanceof Error ? err.message : String(err), 'error');
  }
}

function actions(m: MessageDetail, onChange: (state: MessageFlags, labels: string[]) => void): HTMLElement {
  let state = m.state;
  let labels = m.labels;
  const status = h('span', { class: 'muted', role: 'status' });
  async function patch(change: Record<string, unknown>, done: string): Promise<void> {
    status.textContent = 'Saving…';
    try {
      const next = await api<{ state?: MessageFlags; labels?: string[] }>('PATCH', `/api/messages/${m.id}`, { body: change });
      state = { ...state, ...(next.state ?? change) } as MessageFlags;
      labels = next.labels ?? labels;
      onChange(state, labels);
      status.textContent = done;
    } catch (err) {
      status.textContent = err instanceof Error ? err.message : String(err);
    }
  }
  const toggle = (flag: 'read' | 'starred' | 'archived', on: string, off: string) =>
    h(
      'button',
      {
        class: 'button',
        type: 'button',
        'aria-pressed': String(state[flag]),
        onclick: (ev: Event) => {
          const b = ev.currentTarget as HTMLButtonElement;
          const next = !state[flag];
          void patch({ [flag]: next }, next ? on : off).then(() => {
            b.setAttribute('aria-pressed', String(state[flag]));
          });
        },
      },
      flag === 'read' ? 'Read' : flag === 'starred' ? 'Starred' : 'Archived',
    );
  const labelInput = h('input', { type: 'text', id: 'label-name', placeholder: 'Label', autocomplete: 'off' });
  const labelForm = h(
    'form',
    {
      class: 'inline-form',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const name = labelInput.value.trim();
        if (!name) return;
        const remove = labels.includes(name);
        void patch(
          { labels: remove ? { add: [], remove: [name] } : { add: [name], remove: [] } },
          remove ? `Label ${name} removed` : `Label ${name} added`,
        ).then(() => {
          labelInput.value = '';
        });
      },
    },
    h('label', { for: 'label-name', class: 'visually-hidden' }, 'Add or remove a label'),
    labelInput,
    h('button', { class: 'button', type: 'submit' }, 'Add / remove label'),
  );
  const del = h(
    'button',
    {
      class: 'button button-danger',
      type: 'button',
      onclick: async () => {
        if (!window.confirm('Move this message to the trash in your mailbox?')) return;
        status.textContent = 'Deleting…';
        try {
          await api('DELETE', `/api/messages/${m.id}`);
          status.textContent = 'Moved to the trash in your mailbox.';
        } catch (err) {
          status.textContent = err instanceof Error ? err.message : String(err);
        }
      },
    },
    'Delete',
  );
  return h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': 'Message actions' },
    toggle('read', 'Marked read', 'Marked unread'),
    toggle('starred', 'Starred', 'Star removed'),
    toggle('archived', 'Archived', 'Moved back to the inbox'),
    labelForm,
    del,
    status,
  );
}

export const messageView: View = (main, route, signal) => {
  const id = route.params.id;
  show(main, loading('Loading the message…'));
  api<MessageDetail>('GET', `/api/messages/${id}`, { signal })
    .then((m) => {
      if (signal.aborted) return;
      const labelLine = h('p', { class: 'muted' });
      const setLabels = (labels: string[]) => {
        labelLine.textContent = labels.length ? `Labels: ${labels.join(', ')}` : '';
      };
      setLabels(m.labels);
      let body: HTMLElement;
      let imagesButton: HTMLElement | null = null;
      if (m.html) {
        const { frame, showImages } = emailFrame(m.html, `Email: ${m.subject || '(no subject)'}`);
        const blocked = countRemoteImages(m.html);
        if (blocked > 0) {
          imagesButton = h(
            'div',
            { class: 'notice' },
            h('span', {}, `${blocked} remote image${blocked === 1 ? ' was' : 's were'} not loaded, so the sender cannot tell you opened this. `),
            h(
              'button',
              {
                class: 'button',
                type: 'button',
                onclick: (ev: Event) => {
                  showImages();
                  (ev.currentTarget as HTMLElement).parentElement!.remove();
                },
              },
              'Show images',
            ),
          );
        }
        body = frame;
      } else body = textBody(m.text);
      const reply = composer({
        to: [m.from],
        subject: /^re:/i.test(m.subject) ? m.subject : `Re: ${m.subject}`,
        replyToMessageId: m.id,
        label: 'Reply',
        fromMailboxIds: m.mailboxes.map((b) => b.mailboxId),
        onSent: (answer) => {
          location.hash = `#/messages/${answer.id}`;
        },
      });
      show(
        main,
        h(
          'article',
          { class: 'message', 'aria-labelledby': 'message-subject' },
          h('h1', { id: 'message-subject' }, m.subject || '(no subject)'),
          h(
            'dl',
            { class: 'fields' },
            h('div', { class: 'field' }, h('dt', {}, 'From'), h('dd', {}, person(m.from))),
            h('div', { class: 'field' }, h('dt', {}, 'To'), h('dd', {}, m.to.map(person).join(', ') || '—')),
            m.cc.length ? h('div', { class: 'field' }, h('dt', {}, 'Cc'), h('dd', {}, m.cc.map(person).join(', '))) : null,
            h('div', { class: 'field' }, h('dt', {}, 'Date'), h('dd', {}, formatDateTime(m.date))),
            h(
              'div',
              { class: 'field' },
              h('dt', {}, 'Synced'),
              h('dd', {}, [syncedByWords(m.syncedBy), m.mailboxes.length ? ` (${m.mailboxes.map((b) => b.address).join(', ')})` : ''].join('')),
            ),
          ),
          labelLine,
          actions(m, (_s, labels) => setLabels(labels)),
          choiceSection(m.id, (section) =>
            show(
              main,
              h('h1', { id: 'message-subject' }, m.subject || '(no subject)'),
              h('p', { class: 'notice' }, 'This email is not in the CRM for you now.'),
              section,
            ),
          ),
          h('div', { class: 'actions' }, reply.button, m.threadId ? h('a', { class: 'button', href: `#/threads/${m.threadId}` }, 'Whole conversation') : null),
          reply.panel,
          imagesButton,
          body,
          m.attachments.length
            ? h(
                'section',
                { class: 'section' },
                h('h2', {}, 'Attachments'),
                h(
                  'ul',
                  { class: 'rows' },
                  m.attachments.map((a) =>
                    h(
                      'li',
                      { class: 'row' },
                      h('button', { class: 'link-button', type: 'button', onclick: () => void download(m.id, a) }, a.filename || 'attachment'),
                      h('span', { class: 'muted' }, ` · ${a.mimeType} · ${formatSize(a.size)}`),
                    ),
                  ),
                ),
              )
            : null,
        ),
      );
    })
    .catch((err) => {
      if (!signal.aborted)
        show(
          main,
          failure(err, () => messageView(main, route, signal)),
        );
    });
};

export const threadView: View = (main, route, signal) => {
  show(main, loading('Loading the conversation…'));
  api<{ id: string; subject: string; messages: MessageSummary[] }>('GET', `/api/threads/${route.params.id}`, { signal })
    .then((t) => {
      if (!signal.aborted) show(main, h('h1', {}, t.subject || '(no subject)'), h('ul', { class: 'timeline' }, t.messages.map(messageItem)));
    })
    .catch((err) => {
      if (!signal.aborted)
        show(
          main,
          failure(err, () => threadView(main, route, signal)),
        );
    });
};
