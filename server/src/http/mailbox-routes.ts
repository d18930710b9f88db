/** Mailboxes: connect (OAuth), list with sync health, resync, disconnect (server/openapi.yaml). */
import { Router } from 'express';
import type { Types } from 'mongoose';
import { z } from 'zod';
import { MailboxConnect } from '@threadline/shared/src/api/account';
import { Mailbox, type MailboxDoc } from '../models/mailbox';
import { User } from '../models/user';
import { type ConnectDeps, ConnectError, startConnect } from '../sync/control/connect';
import { mailboxView } from '../views/mailbox-view';
import { auth } from './context';
import { ApiError, badRequest, notFound } from './errors';

export interface MailboxActions {
  /** Schedules a full re-read of the mailbox (reconciliation) as soon as a worker is free. */
  resync(mailboxId: Types.ObjectId): Promise<void>;
  /** Stops push, revokes the tokens, removes the mailbox's copies and what only it held. */
  disconnect(mailboxId: Types.ObjectId): Promise<void>;
}

const connectBody = MailboxConnect;
const idParam = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/i, 'must be a mailbox id') });

export function mailboxRoutes(deps: { connect: ConnectDeps; actions: MailboxActions }): Router {
  const router = Router();

  router.post('/api/mailboxes/connect', async (req, res) => {
    const { provider } = connectBody.parse(req.body);
    const a = auth(req);
    const user = await User.findById(a.userId).lean<{ email: string }>();
    try {
      const authorizationUrl = await startConnect(deps.connect, { userId: a.userId, orgId: a.orgId, email: user?.email ?? '' }, provider);
      res.json({ authorizationUrl });
    } catch (err) {
      if (err instanceof ConnectError && err.code === 'not_configured') throw badRequest(err.message);
      throw err;
    }
  });

  router.get('/api/mailboxes', async (req, res) => {
    const a = auth(req);
    const filter = a.role === 'admin' ? {} : { userId: a.userId };
    const mailboxes = await Mailbox.find(filter).sort({ createdAt: 1 }).lean<MailboxDoc[]>();
    res.json({ mailboxes: mailboxes.map(mailboxView) });
  });

  /** The caller's own mailbox, or any of the org's for an admin; another's is 404, as if it did not exist. */
  async function visibleMailbox(req: Parameters<Parameters<Router['get']>[1]>[0]): Promise<MailboxDoc> {
    const a = auth(req);
    const { id } = idParam.parse(req.params);
    const m = await Mailbox.findById(id).lean<MailboxDoc>();
    if (!m || (a.role !== 'admin' && !m.userId.equals(a.userId))) throw notFound('mailbox');
    return m;
  }

  router.post('/api/mailboxes/:id/resync', async (req, res) => {
    const m = await visibleMailbox(req);
    if (m.state === 'reauth_required') throw new ApiError(409, 'reauth_required', 'reconnect this mailbox first: its access was withdrawn');
    await deps.actions.resync(m._id);
    res.status(202).json({ id: String(m._id), status: 'scheduled' });
  });

  router.delete('/api/mailboxes/:id', async (req, res) => {
    const m = await visibleMailbox(req);
    await deps.actions.disconnect(m._id);
    res.status(204).end();
  });

  return router;
}
