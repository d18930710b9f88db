/**
 * Erasure of one email address across the organisation (an admin's answer to a data-subject request).
 *
 * Erasure is "exclude this address, retroactively, and forget the person": the address joins the organisation's
 * `excludedAddresses` first (so a sync running meanwhile stops storing it), then the tightened rule is applied by
 * the same code a settings change uses (settings-apply.ts), which removes every message the address is on with
 * its copies, cached attachment bytes and emptied threads. What that code does not own is done here: the thread
 * keys of the removed threads, the contact holding the address, and finished CRM sends addressed to it.
 *
 * The audit entry keeps a sha256 of the address and counts only, so the log never re-creates what was erased (an
 * admin can still check whether an address was erased by hashing it). Running it again finds nothing and changes
 * nothing but the audit trail: erasure is idempotent.
 */
import { createHash } from 'node:crypto';
import mongoose, { Types } from 'mongoose';
import { currentOrgId } from '../../db/tenant';
import { AttachmentCache } from '../../models/attachment-cache';
import { AuditLog } from '../../models/audit';
import { Contact, type ContactDoc } from '../../models/crm';
import { Mailbox } from '../../models/mailbox';
import { MailboxMessage } from '../../models/mailbox-message';
import { Message, type MessageDoc } from '../../models/message';
import { Org, type OrgDoc } from '../../models/org';
import { Outbox } from '../../models/outbox';
import { Thread, ThreadKey } from '../../models/thread';
import { User } from '../../models/user';
import { applyOrgRulesChange } from './settings-apply';
import { deleteContact, escapeRegex, updateContact } from '../../crm/contacts';

const { trusted } = mongoose;

export interface ErasureCounts {
  messages: number;
  copies: number;
  cachedAttachments: number;
  threads: number;
  threadKeys: number;
  contactsDeleted: number;
  contactsUpdated: number;
  sentRecords: number;
  /** True when the address was already excluded before this request (a repeat, or an earlier rule). */
  alreadyExcluded: boolean;
}

/** Erasing a colleague's or a connected mailbox's address would wipe their whole mailbox: refused, with the way out. */
export class ErasureRefused extends Error {
  override name = 'ErasureRefused';
}

export const hashAddress = (email: string) => createHash('sha256').update(email, 'utf8').digest('hex');

/** `email` must be normalised. Runs in the organisation's context; `actorId` is the admin asking. */
export async function eraseAddress(actorId: Types.ObjectId, email: string): Promise<ErasureCounts> {
  if (await User.exists({ email })) throw new ErasureRefused('this address belongs to a user of the organisation: remove the user first');
  if (await Mailbox.exists({ address: email })) throw new ErasureRefused('this address is a connected mailbox: disconnect it first');

  const org = await Org.findById(currentOrgId()).select({ settings: 1, domains: 1 }).lean<Pick<OrgDoc, 'settings' | 'domains'>>();
  if (!org) throw new Error('the organisation is missing');
  const sync = org.settings.sync;
  const alreadyExcluded = sync.excludedAddresses.includes(email);
  await Org.updateOne({ _id: currentOrgId() }, { $addToSet: { 'settings.sync.excludedAddresses': email } });

  // Counted before the removal, which reports messages only; the same filter the rule will match.
  const held = await Message.find({ participants: email }).select({ threadId: 1 }).lean<Pick<MessageDoc, '_id' | 'threadId'>[]>();
  const ids = held.map((m) => m._id);
  const [copies, cachedAttachments] =
    ids.length === 0
      ? [0, 0]
      : await Promise.all([
          MailboxMessage.countDocuments({ messageId: trusted({ $in: ids }) }),
          AttachmentCache.countDocuments({ messageId: trusted({ $in: ids }) }),
        ]);

  // Judged as if the address were newly excluded, even on a repeat, so anything stored since is removed too.
  const others = sync.excludedAddresses.filter((a) => a !== email);
  const { removedMessages } = await applyOrgRulesChange(
    { ...sync, excludedAddresses: others },
    { ...sync, excludedAddresses: [...others, email] },
    org.domains ?? [],
  );

  const { threads, threadKeys } = await forgetRemovedThreads(held.flatMap((m) => (m.threadId ? [m.threadId] : [])));
  const contacts = await forgetContact(email);
  const sentRecords = await forgetFinishedSends(email);

  const counts: ErasureCounts = { messages: removedMessages, copies, cachedAttachments, threads, threadKeys, ...contacts, sentRecords, alreadyExcluded };
  await AuditLog.create({ actorId, action: 'erasure', target: hashAddress(email), detail: counts });
  return counts;
}

/** Threads the removal emptied (and so deleted) lose their provider thread keys too. */
async function forgetRemovedThreads(threadIds: Types.ObjectId[]): Promise<{ threads: number; threadKeys: number }> {
  if (threadIds.length === 0) return { threads: 0, threadKeys: 0 };
  const unique = [...new Set(threadIds.map(String))].map((id) => new Types.ObjectId(id));
  const left = new Set(
    (
      await Thread.find({ _id: trusted({ $in: unique }) })
        .select({ _id: 1 })
        .lean<{ _id: Types.ObjectId }[]>()
    ).map((t) => String(t._id)),
  );
  const gone = unique.filter((t) => !left.has(String(t)));
  if (gone.length === 0) return { threads: 0, threadKeys: 0 };
  const { deletedCount } = await ThreadKey.deleteMany({ threadId: trusted({ $in: gone }) });
  return { threads: gone.length, threadKeys: deletedCount };
}

/** The contact whose only address it is goes (unlinked from mail and deals); one with other addresses just loses it. */
async function forgetContact(email: string): Promise<{ contactsDeleted: number; contactsUpdated: number }> {
  // One address belongs to one contact in the organisation (unique index), but a loop costs nothing and is safe.
  const holders = await Contact.find({ emails: email }).select({ emails: 1 }).lean<Pick<ContactDoc, '_id' | 'emails'>[]>();
  let contactsDeleted = 0;
  let contactsUpdated = 0;
  for (const c of holders) {
    const rest = c.emails.filter((e) => e !== email);
    if (rest.length === 0) {
      if (await deleteContact(c._id)) contactsDeleted += 1;
    } else if (await updateContact(c._id, { emails: rest })) {
      contactsUpdated += 1;
    }
  }
  return { contactsDeleted, contactsUpdated };
}

/**
 * Finished CRM sends keep their request (recipients, subject, body) for idempotent replays; those addressed to the
 * erased person go. Queued or in-flight sends are left to finish: cancelling a send the user asked for is not
 * erasure's call, and the Sent copy is not re-imported because the address is now excluded.
 */
async function forgetFinishedSends(email: string): Promise<number> {
  // Requests keep addresses as the user typed them: matched whole and case-insensitively, never as a pattern.
  const exact = new RegExp(`^\\s*${escapeRegex(email)}\\s*$`, 'i');
  const { deletedCount } = await Outbox.deleteMany({
    status: trusted({ $in: ['sent', 'failed'] }),
    $or: [{ 'request.to.email': exact }, { 'request.cc.email': exact }, { 'request.bcc.email': exact }],
  });
  return deletedCount;
}
