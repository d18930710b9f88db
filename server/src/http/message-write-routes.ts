/**
 * Writes on messages (server/openapi.yaml): send from the CRM (POST /api/messages, idempotent by the
 * Idempotency-Key header), and state write-through (PATCH / DELETE /api/messages/:id) to the caller's mailbox.
 * The work is in sync/outbound; this file validates, and translates outcomes into the contract's answers.
 */
import { Router, type Request } from 'express';
import type { Types } from 'mongoose';
import { z } from 'zod';
import { objectId } from '@threadline/shared/src/api/common';
import { SendAddress, sendRequestOf, StateChange } from '@threadline/shared/src/api/messages';
import { normaliseAddress } from '../mail/address';
import { ComposeError } from '../sync/outbound/compose';
import { enqueueSend, OutboundError } from '../sync/outbound/outbox';
import { StateWriteError, trashMessage, writeMessageState } from '../sync/outbound/state';
import type { MailboxAdapters } from '../sync/providers/runtime';
import { auth } from './context';
import { ApiError, badRequest, conflict, notFound } from './errors';

export interface MessageWriteDeps {
  adapters: MailboxAdapters;
  /** Called after a new send was queued and answered, to start sending it at once (the worker sweep is the fallback). */
  onQueued?: (entry: { entryId: Types.ObjectId; orgId: Types.ObjectId }) => void;
}

/** The shared body, each recipient also an address we can normalise. */
const address = SendAddress.extend({ email: SendAddress.shape.email.refine((v) => normaliseAddress(v) !== null, 'must be an email address') });
const sendBody = sendRequestOf(address);
const patchBody = StateChange;

const idParam = z.object({ id: objectId('message') });

const idempotencyKey = z
  .string()
  .min(1, 'is required')
  .max(200, 'must be at most 200 characters')
  .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII');

function keyOf(req: Request): string {
  const parsed = idempotencyKey.safeParse(req.get('idempotency-key') ?? '');
  if (!parsed.success) throw badRequest(`Idempotency-Key: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { field: 'Idempotency-Key' });
  return parsed.data;
}

function stateError(err: unknown): unknown {
  if (!(err instanceof StateWriteError)) return err;
  if (err.code === 'not_found') return notFound('message');
  if (err.code === 'invalid') return badRequest(err.message);
  const p = err.providerError;
  switch (p?.code) {
    case 'throttled': {
      const seconds = Math.max(1, Math.ceil((p.details.retryAfterMs ?? 30_000) / 1000));
      return new ApiError(429, 'rate_limited', 'the mailbox provider asks us to slow down; try again shortly', undefined, { 'Retry-After': String(seconds) });
    }
    case 'auth_revoked':
      return new ApiError(409, 'reauth_required', 'reconnect this mailbox first: its access was withdrawn');
    case 'not_found':
      return new ApiError(404, 'not_found', 'the message is no longer in your mailbox at the provider');
    default:
      return new ApiError(502, 'provider_error', err.message);
  }
}

export function messageWriteRoutes(deps: MessageWriteDeps): Router {
  const router = Router();

  router.post('/api/messages', async (req, res) => {
    const key = keyOf(req);
    const body = sendBody.parse(req.body);
    const a = auth(req);
    let answer;
    try {
      answer = await enqueueSend({ userId: a.userId, orgId: a.orgId }, body, key);
    } catch (err) {
      if (err instanceof OutboundError) {
        if (err.code === 'idempotency_conflict') throw conflict(err.message);
        throw notFound(err.code === 'mailbox_not_found' ? 'mailbox' : 'message replied to');
      }
      if (err instanceof ComposeError) {
        if (err.code === 'too_large') throw new ApiError(413, 'too_large', err.message, { field: err.field });
        throw badRequest(`${err.field}: ${err.message}`, { field: err.field });
      }
      throw err;
    }
    if (!answer.created) res.setHeader('Idempotent-Replayed', 'true');
    res.status(202).json({ id: answer.id, status: answer.status });
    if (answer.created) deps.onQueued?.({ entryId: answer.entryId, orgId: a.orgId });
  });

  router.patch('/api/messages/:id', async (req, res) => {
    const { id } = idParam.parse(req.params);
    const change = patchBody.parse(req.body);
    try {
      res.json(await writeMessageState(auth(req).userId, id, change, deps.adapters));
    } catch (err) {
      throw stateError(err);
    }
  });

  router.delete('/api/messages/:id', async (req, res) => {
    const { id } = idParam.parse(req.params);
    try {
      res.status(202).json(await trashMessage(auth(req).userId, id, deps.adapters));
    } catch (err) {
      throw stateError(err);
    }
  });

  return router;
}
