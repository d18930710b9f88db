/**
 * Compose or reply from a record: sent from one of the user's own mailboxes (so it stands in their Sent folder),
 * with one Idempotency-Key per composed message: pressing Send again after a network failure retries the same
 * send rather than sending twice. A new key is made only when a new message is started.
 */
import { api } from '../api';
import { h, PROVIDER_WORDS, show, toast } from '../dom';
import { currentSession } from '../session';
import type { Address, Mailbox } from '../types';

export interface ComposeOptions {
  to: Address[];
  subject?: string;
  replyToMessageId?: string;
  /** Mailboxes to send from by preference (a reply: those holding the original), when they are the user's. */
  fromMailboxIds?: string[];
  /** Label of the button that opens the form. */
  label?: string;
  onSent?: (answer: { id: string; status: string }) => void;
}

const parseAddresses = (text: string): Address[] =>
  text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((email) => ({ email }) as Address);

const newKey = () => (typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

let ids = 0;

export function composer(opts: ComposeOptions): { button: HTMLButtonElement; panel: HTMLElement } {
  const n = ++ids;
  const idFor = (name: string) => `compose-${n}-${name}`;
  const from = h('select', { id: idFor('from'), required: true });
  const to = h('input', { id: idFor('to'), type: 'text', required: true, value: opts.to.map((a) => a.email).join(', '), autocomplete: 'off' });
  const cc = h('input', { id: idFor('cc'), type: 'text', autocomplete: 'off' });
  const subject = h('input', { id: idFor('subject'), type: 'text', required: true, value: opts.subject ?? '' });
  const body = h('textarea', { id: idFor('body'), rows: 8, required: true });
  const send = h('button', { class: 'button button-primary', type: 'submit' }, 'Send');
  const cancel = h('button', { class: 'button', type: 'button' }, 'Cancel');
  const status = h('p', { class: 'muted', role: 'status' });
  const row = (label: string, input: HTMLElement) => h('div', { class: 'form-row' }, h('label', { for: input.id }, label), input);
  const form = h(
    'form',
    { class: 'compose', 'aria-label': opts.replyToMessageId ? 'Reply' : 'New email' },
    row('From', from),
    row('To', to),
    row('Cc', cc),
    row('Subject', subject),
    row('Message', body),
    h('div', { class: 'actions' }, send, cancel),
    status,
  );
  const panel = h('div', { class: 'compose-panel', hidden: true }, form);
  const button = h('button', { class: 'button button-primary', type: 'button', 'aria-expanded': 'false' }, opts.label ?? 'New email');
  let key = newKey();

  async function open(): Promise<void> {
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    status.textContent = '';
    const me = currentSession()?.user.id;
    show(from, h('option', { value: '' }, 'Loading your mailboxes…'));
    try {
      // Admins list the whole organisation's mailboxes; one sends only from one's own.
      const own = (await api<{ mailboxes: Mailbox[] }>('GET', '/api/mailboxes')).mailboxes.filter((m) => m.userId === me);
      // One address may be connected twice (its Gmail and its Outlook mailbox): the provider tells them apart.
      const preferred = own.find((m) => opts.fromMailboxIds?.includes(m.id)) ?? own[0];
      show(
        from,
        own.length
          ? own.map((m) => h('option', { value: m.id, selected: m === preferred }, `${m.address} · ${PROVIDER_WORDS[m.provider]}`))
          : h('option', { value: '' }, 'Connect a mailbox first'),
      );
      send.disabled = own.length === 0;
    } catch (err) {
      show(from, h('option', { value: '' }, 'Could not load your mailboxes'));
      status.textContent = err instanceof Error ? err.message : String(err);
    }
    (opts.to.length ? body : to).focus();
  }
  function close(): void {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    status.textContent = 'Sending…';
    try {
      const payload = {
        mailboxId: from.value,
        to: parseAddresses(to.value),
        ...(cc.value.trim() ? { cc: parseAddresses(cc.value) } : {}),
        subject: subject.value,
        text: body.value,
        ...(opts.replyToMessageId ? { replyToMessageId: opts.replyToMessageId } : {}),
      };
      const answer = await api<{ id: string; status: string }>('POST', '/api/messages', { body: payload, headers: { 'Idempotency-Key': key } });
      key = newKey(); // this message is done; the next one is a new send
      body.value = '';
      toast('Queued: it is sent from your mailbox and appears in your Sent folder.');
      status.textContent = '';
      close();
      opts.onSent?.(answer);
    } catch (err) {
      // The key is kept: sending again retries this same message.
      status.textContent = err instanceof Error ? err.message : String(err);
    } finally {
      send.disabled = false;
    }
  });
  button.addEventListener('click', () => (panel.hidden ? void open() : close()));
  cancel.addEventListener('click', close);
  return { button, panel };
}
