/**
 * Attachment bytes on demand (GET /api/messages/:id/attachments/:attachmentId). Only metadata is
 * stored at ingest; the bytes come from the provider through a copy of a holder's mailbox, the caller's own copy
 * first. They are cached in the database (models/attachment-cache.ts) rather than on disk so that every server
 * process shares one cache and the privacy removal (sync/rules/settings-apply.ts) can delete them with their message.
 * The cache is bounded: items above `itemMaxBytes` are served but not kept; beyond `totalMaxBytes` per
 * organisation the least recently used go first.
 *
 * A file that was uuencoded inside the text (id `uu<N>`, ingest/mime/uuencode.ts) is no attachment at the provider:
 * its bytes are decoded from the copy's raw message (ChangeSource.fetchRaw), then cached like any other.
 */
import mongoose, { type Types } from 'mongoose';
import { AttachmentCache, type AttachmentCacheDoc } from '../../models/attachment-cache';
import { Mailbox } from '../../models/mailbox';
import { MailboxMessage } from '../../models/mailbox-message';
import { isUuencodedAttachmentId, uuencodedAttachment } from '../ingest/parse';
import { ProviderError, type ChangeSource } from '../providers/port';
import type { MailboxAdapters, MailboxForAdapter } from '../providers/runtime';

export interface AttachmentCacheLimits {
  itemMaxBytes: number;
  totalMaxBytes: number;
}
export const DEFAULT_CACHE_LIMITS: AttachmentCacheLimits = { itemMaxBytes: 5 * 1024 * 1024, totalMaxBytes: 200 * 1024 * 1024 };

/** No copy could give the bytes: `not_found` when every provider said so, else the last provider error. */
export class AttachmentUnavailableError extends Error {
  constructor(public readonly providerError: ProviderError | null) {
    super(providerError ? `attachment unavailable: ${providerError.message}` : 'no mailbox holds this message any more');
    this.name = 'AttachmentUnavailableError';
  }
}

/** Errors after which another holder's copy may still answer (this copy or its mailbox cannot). */
const TRY_NEXT_COPY = new Set(['not_found', 'invalid', 'permission', 'auth_revoked']);

export async function attachmentBytes(
  deps: { adapters: MailboxAdapters; limits?: AttachmentCacheLimits },
  messageId: Types.ObjectId,
  attachmentId: string,
  callerId: Types.ObjectId,
): Promise<Buffer> {
  // findOne then updateOne: FerretDB does not implement a projection on findAndModify.
  const cached = await AttachmentCache.findOne({ messageId, attachmentId }).select({ data: 1 }).lean<Pick<AttachmentCacheDoc, '_id' | 'data'>>();
  if (cached) {
    await AttachmentCache.updateOne({ _id: cached._id }, { $set: { lastUsedAt: new Date() } });
    return toBuffer(cached.data);
  }

  const bytes = await fromProvider(deps.adapters, messageId, attachmentId, callerId);
  await remember(deps.limits ?? DEFAULT_CACHE_LIMITS, messageId, attachmentId, bytes);
  return bytes;
}

/** lean() gives the driver's Binary for a Buffer path. */
function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  const binary = data as { buffer?: Uint8Array };
  return Buffer.from(binary.buffer ?? new Uint8Array());
}

async function fromProvider(adapters: MailboxAdapters, messageId: Types.ObjectId, attachmentId: string, callerId: Types.ObjectId): Promise<Buffer> {
  const copies = await MailboxMessage.find({ messageId })
    .select({ mailboxId: 1, userId: 1, providerMessageId: 1 })
    .sort({ createdAt: 1, _id: 1 })
    .lean<{ mailboxId: Types.ObjectId; userId: Types.ObjectId; providerMessageId: string }[]>();
  // The caller's own copy first: it spends their quota, not a teammate's.
  copies.sort((a, b) => Number(b.userId.equals(callerId)) - Number(a.userId.equals(callerId)));
  let lastError: ProviderError | null = null;
  for (const copy of copies) {
    const mailbox = await Mailbox.findOne({ _id: copy.mailboxId, state: mongoose.trusted({ $ne: 'reauth_required' }) })
      .select({ orgId: 1, provider: 1, address: 1 })
      .lean<MailboxForAdapter>();
    if (!mailbox) continue;
    try {
      return await fetchFrom(adapters.forMailbox(mailbox).changeSource, copy.providerMessageId, attachmentId);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      lastError = err;
      // Throttling or an outage is not this copy's fault; asking the next mailbox would only spread the load.
      if (!TRY_NEXT_COPY.has(err.code)) throw err;
    }
  }
  throw new AttachmentUnavailableError(lastError);
}

async function fetchFrom(source: ChangeSource, providerMessageId: string, attachmentId: string): Promise<Buffer> {
  if (!isUuencodedAttachmentId(attachmentId)) return source.fetchAttachment(providerMessageId, attachmentId);
  const bytes = await uuencodedAttachment(await source.fetchRaw(providerMessageId), attachmentId);
  if (bytes === null) throw new ProviderError('not_found', `no uuencoded file ${attachmentId} in this copy`);
  return bytes;
}

async function remember(limits: AttachmentCacheLimits, messageId: Types.ObjectId, attachmentId: string, bytes: Buffer): Promise<void> {
  if (bytes.length > limits.itemMaxBytes || bytes.length > limits.totalMaxBytes) return;
  await AttachmentCache.updateOne({ messageId, attachmentId }, { $set: { data: bytes, size: bytes.length, lastUsedAt: new Date() } }, { upsert: true }).catch(
    (err: { code?: number }) => {
      if (err.code !== 11000) throw err; // a concurrent download stored it first: fine
    },
  );
  await evict(limits.totalMaxBytes);
}

/** Drops the least recently used entries until the organisation's cache fits its cap again. */
async function evict(totalMaxBytes: number): Promise<void> {
  const [sum] = await AttachmentCache.aggregate<{ total: number }>([{ $group: { _id: null, total: { $sum: '$size' } } }]);
  let excess = (sum?.total ?? 0) - totalMaxBytes;
  if (excess <= 0) return;
  const oldest = AttachmentCache.find({}).select({ size: 1 }).sort({ lastUsedAt: 1, _id: 1 }).lean<{ _id: Types.ObjectId; size: number }[]>().cursor();
  const drop: Types.ObjectId[] = [];
  for await (const entry of oldest) {
    drop.push(entry._id);
    excess -= entry.size;
    if (excess <= 0) break;
  }
  if (drop.length) await AttachmentCache.deleteMany({ _id: mongoose.trusted({ $in: drop }) });
}
