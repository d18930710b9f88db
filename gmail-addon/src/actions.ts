/**
 * The action table: every function a card button may call back, by name (the add-on is a thin shell: entry points, this
 * table, pure view builders). Each handler does one server call, evicts what the change made stale, and says what the
 * sidebar should do next as plain data (main.ts turns it into a CardService ActionResponse). The build generates a
 * top-level Apps Script function for every name here, so a card can only name an action that exists.
 */
import type { OpenLinkSpec } from '@threadline/shared/src/card';
import { choiceDoneWords, type SharingLevel } from '@threadline/shared/src/choices';
import type { AddonCard } from './addon-card';
import { evictContext } from './context-cache';
import { ApiError } from './errors';
import type { AddonEvent } from './event';
import { currentView, type Ctx, senderOf, settingsFor } from './flows';
import { openMessageDate, readOpenMessage } from './message';
import { sessionToken } from './session';
import {
  type ACTION_NAMES,
  confirmNeverLogCard,
  type ContactItem,
  newDealCard,
  noteCard,
  type RecordParams,
  searchResultsCard,
  senderExcludedCard,
  taskCard,
  type WhyAnswer,
  whyCard,
} from './views';

export type ActionResult =
  | { update: AddonCard; notify?: string }
  /** Back to the card the sidebar opened with, shown afresh (after a pushed card finished its job). */
  | { root: AddonCard; notify?: string }
  | { back: true; notify?: string }
  | { push: AddonCard }
  | { notify: string }
  | { openLink: OpenLinkSpec };

export type ActionName = keyof typeof ACTION_NAMES;
export type ActionHandler = (ctx: Ctx, event: AddonEvent) => ActionResult;

function required(event: AddonEvent, name: string): string {
  const value = (event.parameters[name] ?? '').trim();
  if (!value) throw new ApiError(400, 'invalid', `The button sent no ${name}. Reopen the email and try again.`);
  return value;
}

function recordOf(event: AddonEvent): RecordParams {
  return { kind: required(event, 'kind'), id: required(event, 'id'), name: (event.parameters.name ?? '').trim() || 'this record' };
}

/** After a change about `emails`: their cached context and the open email's sender's go, then the view is redrawn fresh. */
function refreshAfterChange(ctx: Ctx, event: AddonEvent, emails: string[], notify: string): ActionResult {
  const stale = [...emails];
  if (event.gmail) stale.push(senderOf(ctx, event.gmail));
  evictContext(ctx.p.userCache, stale);
  return { update: currentView(ctx, event, { useCache: false }), notify };
}

/** One address off the user's exclusions; what it removed comes back with the next import (docs/sidebars.md). */
function allowAgain(ctx: Ctx, email: string): void {
  ctx.api.call('delete', `/api/me/excluded-senders/${encodeURIComponent(email)}`);
  evictContext(ctx.p.userCache, [email]);
}

export const ACTIONS: Record<ActionName, ActionHandler> = {
  createContact(ctx, event) {
    const email = required(event, 'email');
    const { name = '', companyName = '' } = event.parameters;
    const body = { email, ...(name.trim() ? { name: name.trim() } : {}), ...(companyName.trim() ? { companyName: companyName.trim() } : {}) };
    try {
      ctx.api.call('post', '/api/contacts', body);
    } catch (err) {
      // Created meanwhile by a teammate (or a double click): the goal is reached, show the contact.
      if (!(err instanceof ApiError && err.status === 409)) throw err;
      return refreshAfterChange(ctx, event, [email], `${email} is already in the CRM.`);
    }
    return refreshAfterChange(ctx, event, [email], `Contact created for ${email}.`);
  },

  /** The server card's button: asks first, changes nothing. */
  neverLogSender(_ctx, event) {
    return { push: confirmNeverLogCard(required(event, 'email')) };
  },

  /**
   * Confirmed. The server answers at once and removes the sender's past mail afterwards, so a large mailbox cannot
   * run this action past Gmail's time limit (docs/sidebars.md).
   */
  excludeSender(ctx, event) {
    const email = required(event, 'email');
    const done = ctx.api.call<{ email: string; undoUntil: string }>('post', '/api/me/excluded-senders', { email });
    const stale = [email];
    if (event.gmail) stale.push(senderOf(ctx, event.gmail));
    evictContext(ctx.p.userCache, stale);
    return { update: senderExcludedCard(done), notify: `Mail from ${done.email} will no longer be logged for you.` };
  },

  undoExcludeSender(ctx, event) {
    const email = required(event, 'email');
    allowAgain(ctx, email);
    return { root: currentView(ctx, event, { useCache: false }), notify: `Mail from ${email} is logged again.` };
  },

  goBack() {
    return { back: true };
  },

  backToEmail(ctx, event) {
    return { root: currentView(ctx, event, { useCache: false }) };
  },

  /** "Attach this thread" beside an open deal: the server links the thread and says how much it holds now. */
  attachToDeal(ctx, event) {
    const dealId = required(event, 'dealId');
    const internetMessageId = required(event, 'internetMessageId');
    ctx.api.call('post', `/api/deals/${encodeURIComponent(dealId)}/mail`, { internetMessageId, scope: 'thread' });
    const name = (event.parameters.dealName ?? '').trim() || 'the deal';
    return refreshAfterChange(ctx, event, [], `This thread is now on ${name}.`);
  },

  /** The name first: a card with the email's subject filled in. */
  newDeal(ctx, event) {
    const subject = event.gmail ? (readOpenMessage(ctx.p, event.gmail).subject ?? '') : '';
    const { contactIds = '', internetMessageId = '' } = event.parameters;
    return { push: newDealCard({ subject, contactIds, internetMessageId }) };
  },

  createDeal(ctx, event) {
    const name = (event.formInputs.dealName ?? '').trim();
    if (!name) return { notify: 'Give the deal a name.' };
    const contactIds = (event.parameters.contactIds ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const deal = ctx.api.call<{ id: string; name: string }>('post', '/api/deals', { name, contactIds });
    const mid = (event.parameters.internetMessageId ?? '').trim();
    if (mid) ctx.api.call('post', `/api/deals/${encodeURIComponent(deal.id)}/mail`, { internetMessageId: mid, scope: 'thread' });
    const stale = event.gmail ? [senderOf(ctx, event.gmail)] : [];
    evictContext(ctx.p.userCache, stale);
    return { root: currentView(ctx, event, { useCache: false }), notify: `Deal “${deal.name}” created.` };
  },

  addNote(_ctx, event) {
    return { push: noteCard(recordOf(event)) };
  },

  addTask(_ctx, event) {
    return { push: taskCard(recordOf(event)) };
  },

  saveNote(ctx, event) {
    const record = recordOf(event);
    const body = (event.formInputs.noteBody ?? '').trim();
    if (!body) return { notify: 'Write the note first.' };
    ctx.api.call('post', '/api/notes', { record: { kind: record.kind, id: record.id }, body });
    return { back: true, notify: `Note added to ${record.name}.` };
  },

  saveTask(ctx, event) {
    const record = recordOf(event);
    const title = (event.formInputs.taskTitle ?? '').trim();
    if (!title) return { notify: 'Say what the task is first.' };
    const dueDate = (event.formInputs.taskDue ?? '').trim();
    const assigneeEmail = (event.formInputs.taskAssignee ?? '').trim();
    ctx.api.call('post', '/api/tasks', {
      record: { kind: record.kind, id: record.id },
      title,
      ...(dueDate ? { dueDate } : {}),
      ...(assigneeEmail ? { assigneeEmail } : {}),
    });
    return { back: true, notify: `Task added to ${record.name}${dueDate ? `, due ${dueDate}` : ''}.` };
  },

  /**
   * "Don't log this email / thread": one call, which removes the user's copies before it answers (a thread's few
   * messages, not a mailbox); the refreshed card then offers "Log … again". No confirmation: it is one email, undone
   * by the next click.
   */
  dontLog(ctx, event) {
    const internetMessageId = required(event, 'internetMessageId');
    const scope = required(event, 'scope') === 'thread' ? 'thread' : 'message';
    ctx.api.call('post', '/api/me/excluded-messages', { internetMessageId, scope });
    return refreshAfterChange(ctx, event, [], choiceDoneWords({ action: 'dontLog', scope }));
  },

  /** The server fetches what the choice kept out on the mailbox's next run, which it starts at once. */
  logAgain(ctx, event) {
    const id = required(event, 'exclusionId');
    ctx.api.call('delete', `/api/me/excluded-messages/${encodeURIComponent(id)}`);
    return refreshAfterChange(ctx, event, [], choiceDoneWords({ action: 'logAgain', scope: event.parameters.scope === 'thread' ? 'thread' : 'message' }));
  },

  /** Private, headers only or in full, for the user's copy of this email; `default` goes back to their own level. */
  setSharing(ctx, event) {
    const messageId = required(event, 'messageId');
    const raw = required(event, 'level');
    // The server checks the level (400 for anything but the three).
    const level = raw === 'default' ? null : (raw as SharingLevel);
    ctx.api.call('put', `/api/messages/${encodeURIComponent(messageId)}/visibility`, { level });
    return refreshAfterChange(ctx, event, [], choiceDoneWords({ action: 'setSharing', level }));
  },

  allowSender(ctx, event) {
    const email = required(event, 'email').toLowerCase();
    allowAgain(ctx, email);
    return { update: settingsFor(ctx), notify: `Mail from ${email} is logged again.` };
  },

  /**
   * The server explains from stored facts and the current rules (`GET /api/why`); the add-on only shows it. The
   * email's Date header, when it can be read, lets the server tell "older than the sync window" from "arriving".
   */
  whyNotHere(ctx, event) {
    const messageId = (event.parameters.internetMessageId ?? '').trim();
    const email = (event.parameters.email ?? '').trim();
    if (!messageId && !email) return { notify: 'This email has no Message-ID or sender Threadline could look up.' };
    const date = event.gmail ? openMessageDate(ctx.p, event.gmail) : '';
    const query = [
      ['messageId', messageId],
      ['email', email],
      ['date', date],
    ]
      .filter(([, v]) => v)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');
    const answer = ctx.api.call<WhyAnswer>('get', `/api/why?${query}`);
    return { push: whyCard({ backendUrl: ctx.p.backendUrl, answer }) };
  },

  connectMailbox(ctx) {
    const { authorizationUrl } = ctx.api.call<{ authorizationUrl: string }>('post', '/api/mailboxes/connect', { provider: 'google' });
    // The consent page connects the mailbox; the card must say so when it closes, not keep "not connected".
    return { openLink: { url: authorizationUrl, openAs: 'OVERLAY', onClose: 'RELOAD' } };
  },

  searchContacts(ctx, event) {
    const query = (event.formInputs.q ?? '').trim();
    if (!query) return { notify: 'Type a name or an email address to search.' };
    const { contacts } = ctx.api.call<{ contacts: ContactItem[] }>('get', `/api/contacts?q=${encodeURIComponent(query)}&limit=20`);
    return { push: searchResultsCard({ backendUrl: ctx.p.backendUrl, query, contacts }) };
  },

  signIn(ctx, event) {
    sessionToken(ctx.p, { explicit: true, fresh: true });
    return { update: currentView(ctx, event, { useCache: true }), notify: 'Signed in to Threadline.' };
  },

  refresh(ctx, event) {
    if (event.gmail) evictContext(ctx.p.userCache, [senderOf(ctx, event.gmail)]);
    return { update: currentView(ctx, event, { useCache: false }) };
  },
};
