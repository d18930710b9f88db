/**
 * Message reads (server/openapi.yaml): one message with its body, a thread, and attachment downloads.
 * Every answer goes through the visibility policy (crm/visibility.ts); a message the caller may not see at all
 * answers 404, exactly like one of another organisation (the tenant scope gives that).
 */
import { Router, type Request } from 'express';
import mongoose, { type Types } from 'mongoose';
import { z } from 'zod';
import { loadVisibility } from '../crm/visibility';
import { Mailbox } from '../models/mailbox';
import { Message, type MessageDoc } from '../models/message';
import { Thread, type ThreadDoc } from '../models/thread';
import { AttachmentUnavailableError, attachmentBytes, type AttachmentCacheLimits } from '../sync/refetch/attachment-fetch';
import { ProviderError } from '../sync/providers/port';
import type { MailboxAdapters } from '../sync/providers/runtime';
import { auth } from './context';
import { objectId } from './params';
import { ApiError, notFound } from './errors';
import { SUMMARY_FIELDS, summariesFor } from '../views/message-listing';
import { allWith, copiesOf, threadSource } from '../store/activity';
import { copyFor, messageDetail } from '../views/records';

const idParam = z.object({ id: objectId('message') });
const threadParam = z.object({ id: objectId('thread') });
const attachmentParam = z.object({ id: objectId('message'), attachmentId: z.string().min(1).max(200) });

export interface MessageReadDeps {
  adapters: MailboxAdapters;
  attachmentCache?: AttachmentCacheLimits;
}

export function messageReadRoutes(deps: MessageReadDeps): Router {
  const router = Router();

  router.get('/api/messages/:id', async (req, res) => {
    const { id } = idParam.parse(req.params);
    const { message, access, policy } = await visibleMessage(req, id);
    const copies = (await copiesOf([message])).get(String(message._id)) ?? [];
    // Mailboxes of holders the caller may know about: their own, and those of teammates who share.
    const shows = (u: Types.ObjectId) => policy.shows(u, message);
    const shownHolders = copies.filter((c) => shows(c.userId));
    const mailboxes = shownHolders.length
      ? await Mailbox.find({ _id: mongoose.trusted({ $in: shownHolders.map((c) => c.mailboxId) }) })
          .select({ address: 1 })
          .lean<{ _id: Types.ObjectId; address: string }[]>()
      : [];
    res.json(
      messageDetail(
        message,
        copyFor(copies, policy.callerId, shows),
        access,
        mailboxes.map((m) => ({ mailboxId: String(m._id), address: m.address })),
        shows,
      ),
    );
  });

  router.get('/api/threads/:id', async (req, res) => {
    const { id } = threadParam.parse(req.params);
    const policy = await loadVisibility(auth(req).userId);
    const thread = await Thread.findById(id).select({ subject: 1 }).lean<Pick<ThreadDoc, '_id' | 'subject'>>();
    if (!thread) throw notFound('thread');
    // The thread's entries of the read model, oldest first; each message read by `_id` and checked to belong to it.
    const load = (ids: Types.ObjectId[]) =>
      Message.find({ _id: mongoose.trusted({ $in: ids }) })
        .select(SUMMARY_FIELDS)
        .lean<MessageDoc[]>();
    const docs = await allWith(threadSource(thread._id), load, (m) => thread._id.equals(m.threadId ?? undefined) && policy.access(m) !== 'none');
    const messages = await summariesFor(docs, policy);
    // A thread the caller sees nothing of does not exist for them.
    if (messages.length === 0) throw notFound('thread');
    // The subject of what the caller sees, not the stored one, which may come from a message hidden from them.
    res.json({ id: String(thread._id), subject: messages[0].subject, messages });
  });

  router.get('/api/messages/:id/attachments/:attachmentId', async (req, res) => {
    const { id, attachmentId } = attachmentParam.parse(req.params);
    const { message, access } = await visibleMessage(req, id);
    const meta = access === 'full' ? message.attachments.find((a) => a.id === attachmentId) : undefined;
    if (!meta) throw notFound('attachment');
    let bytes: Buffer;
    try {
      bytes = await attachmentBytes({ adapters: deps.adapters, limits: deps.attachmentCache }, message._id, attachmentId, auth(req).userId);
    } catch (err) {
      throw downloadError(err);
    }
    res.setHeader('Content-Type', safeMimeType(meta.mimeType));
    res.setHeader('Content-Disposition', contentDisposition(meta.filename || 'attachment'));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Content-Length', String(bytes.length));
    res.end(bytes);
  });

  return router;
}

async function visibleMessage(req: Request, id: Types.ObjectId) {
  const policy = await loadVisibility(auth(req).userId);
  const message = await Message.findById(id).select({ malformed: 0, bcc: 0 }).lean<MessageDoc>();
  const access = message ? policy.access(message) : 'none';
  if (!message || access === 'none') throw notFound('message');
  return { message, access, policy };
}

function downloadError(err: unknown): unknown {
  if (err instanceof AttachmentUnavailableError) {
    if (!err.providerError || err.providerError.code === 'not_found') return notFound('attachment');
    return new ApiError(502, 'provider_error', 'the mail provider could not give this attachment; try again later');
  }
  if (err instanceof ProviderError) {
    if (err.code === 'throttled') {
      const seconds = Math.max(1, Math.ceil((err.details.retryAfterMs ?? 30_000) / 1000));
      return new ApiError(429, 'rate_limited', 'the mail provider is rate limiting this mailbox; try again shortly', undefined, {
        'Retry-After': String(seconds),
      });
    }
    return new ApiError(502, 'provider_error', 'the mail provider could not give this attachment; try again later');
  }
  return err;
}

/** A well-formed `type/subtype` from the stored metadata, else a plain download type. */
export function safeMimeType(mime: string): string {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i.test(mime) ? mime.toLowerCase() : 'application/octet-stream';
}

/**
 * RFC 6266: an ASCII fallback `filename` (quotes, backslashes, controls and non-ASCII replaced) and the exact
 * name in `filename*` (RFC 8187 UTF-8 percent-encoding), always as `attachment` so a browser never renders it.
 */
export function contentDisposition(filename: string): string {
  const clean =
    filename
      .replace(/[\u0000-\u001f\u007f]/g, '')
      .replace(/[/\\]/g, '_')
      .slice(0, 255) || 'attachment';
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
