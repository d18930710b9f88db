/**
 * The JSON shapes of server/openapi.yaml for messages and CRM records, built from stored documents. Pure: callers load
 * the documents and decide the caller's access (crm/visibility.ts); these functions only leave out what that
 * access does not cover.
 */
import type { Types } from 'mongoose';
import type { Access } from '../crm/visibility';
import type { CompanyDoc, ContactDoc } from '../models/crm';
import type { MailboxMessageDoc, MessageFlags } from '../models/mailbox-message';
import type { AddressValue, MessageDoc } from '../models/message';
import type { MessageDetail, MessageSummary } from '@threadline/shared/src/api/messages';

export type { MessageDetail, MessageSummary };

export type CopyForView = Pick<MailboxMessageDoc, 'userId' | 'mailboxId' | 'labels' | 'state'>;

const NO_STATE: MessageFlags = { read: false, starred: false, archived: false, deleted: false };

/**
 * The copy whose `state` and `labels` a summary shows: the caller's own copy when they hold one (their view of
 * their mailbox), else the first holder's (copies are passed oldest first, so the answer is stable).
 */
export function copyFor(copies: readonly CopyForView[], callerId: Types.ObjectId, shows: (userId: Types.ObjectId) => boolean = () => true): CopyForView | null {
  // A private holder's copy never lends its labels or read state to anyone else.
  return copies.find((c) => c.userId.equals(callerId)) ?? copies.find((c) => shows(c.userId)) ?? null;
}

const addr = (a: AddressValue | null | undefined): AddressValue => ({ email: a?.email ?? '', name: a?.name ?? '' });

/**
 * At `metadata` access the snippet, the attachment flag and the holder's labels are left out too: the first two
 * are body content, and labels name projects or people the teammate chose not to share.
 */
export function messageSummary(
  m: MessageDoc,
  copy: CopyForView | null,
  access: Exclude<Access, 'none'>,
  shows: (userId: Types.ObjectId) => boolean = () => true,
): MessageSummary {
  const full = access === 'full';
  return {
    id: String(m._id),
    threadId: m.threadId ? String(m.threadId) : null,
    internetMessageId: m.internetMessageId ?? null,
    subject: m.subject ?? '',
    from: addr(m.from),
    to: (m.to ?? []).map(addr),
    cc: (m.cc ?? []).map(addr),
    date: new Date(m.date).toISOString(),
    direction: m.direction,
    snippet: full ? (m.snippet ?? '') : '',
    hasAttachments: full ? Boolean(m.hasAttachments) : false,
    state: { ...NO_STATE, ...pickFlags(copy?.state) },
    labels: full ? [...(copy?.labels ?? [])] : [],
    // Private holders are named only to themselves.
    syncedBy: (m.syncedBy ?? []).filter((u) => shows(u)).map(String),
  };
}

function pickFlags(s: Partial<MessageFlags> | undefined): Partial<MessageFlags> {
  if (!s) return {};
  return { read: Boolean(s.read), starred: Boolean(s.starred), archived: Boolean(s.archived), deleted: Boolean(s.deleted) };
}

export function messageDetail(
  m: MessageDoc,
  copy: CopyForView | null,
  access: Exclude<Access, 'none'>,
  mailboxes: { mailboxId: string; address: string }[],
  shows: (userId: Types.ObjectId) => boolean = () => true,
): MessageDetail {
  const full = access === 'full';
  return {
    ...messageSummary(m, copy, access, shows),
    text: full ? (m.text ?? '') : '',
    html: full ? (m.html ?? '') : '',
    attachments: full ? (m.attachments ?? []).map((a) => ({ id: a.id, filename: a.filename ?? '', mimeType: a.mimeType, size: a.size ?? 0 })) : [],
    mailboxes,
    decoding: full ? (m.decoding ?? []).map((d) => ({ where: d.where, declared: d.declared ?? null, charset: d.charset, source: d.source })) : [],
  };
}

export function contactView(c: ContactDoc) {
  return {
    id: String(c._id),
    emails: [...c.emails],
    email: c.emails[0] ?? '',
    name: c.name ?? '',
    title: c.title ?? '',
    phone: c.phone ?? '',
    companyId: c.companyId ? String(c.companyId) : null,
    source: c.source,
  };
}

export function companyView(c: CompanyDoc) {
  return { id: String(c._id), name: c.name, domains: [...c.domains] };
}
