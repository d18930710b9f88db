/**
 * Push endpoints (CONTRACT.md "Webhooks"). A notification is only a hint: it marks the mailbox due and is
 * answered at once; the workers do the work. Nothing in a notification is trusted as data.
 */
import express, { Router } from 'express';
import { z } from 'zod';
import type { IdentityVerifier } from '../auth/identity';
import { AuthError } from '../auth/identity';
import { sameSecret } from '../auth/secrets';
import { runInOrg } from '../db/tenant';
import type { Logger } from '../logger';
import { Mailbox } from '../models/mailbox';
import type { SyncControl } from '../sync/control/control';
import type { Metrics } from '../metrics';
import { ApiError } from './errors';
import { PushRouter } from './push-routing';

const pubsubPush = z.object({
  message: z.object({ data: z.string().max(8192), messageId: z.string().optional(), publishTime: z.string().optional() }).passthrough(),
  subscription: z.string().optional(),
}).passthrough();
const gmailData = z.object({ emailAddress: z.string().email(), historyId: z.union([z.string(), z.number()]) }).passthrough();

const graphNotifications = z.object({
  value: z.array(z.object({
    subscriptionId: z.string().max(200),
    clientState: z.string().max(256).optional(),
    lifecycleEvent: z.string().max(64).optional(),
    changeType: z.string().optional(),
    resourceData: z.object({ id: z.string().min(1).max(512).optional() }).passthrough().optional(),
  }).passthrough()),
}).passthrough();

export interface WebhookDeps {
  identity: IdentityVerifier;
  sync: SyncControl;
  log: Logger;
  metrics?: Pick<Metrics, 'pushDropped'>;
}

/**
 * Bounds on what one unauthenticated Graph request can make us do (docs/SECURITY.md, "Push and webhooks"): at most
 * this many notifications of a request are looked at (Graph batches a few; the rest are counted and dropped), and at
 * most MAX_BACKGROUND requests are worked on at once (others are acknowledged, counted and dropped: a notification is
 * only a hint, and the poll catches up what a dropped one would have said).
 */
export const MAX_NOTIFICATIONS_PER_REQUEST = 100;
const MAX_BACKGROUND = 16;

const GRAPH_CHANGE_TYPES = new Set(['created', 'updated', 'deleted']);

export function webhookRoutes(deps: WebhookDeps): Router {
  const router = Router();
  const routes = new PushRouter();

  router.post('/webhooks/gmail', async (req, res) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer) throw new ApiError(401, 'unauthorized', 'missing push token');
    try {
      await deps.identity.verifyPubSubPushToken(bearer);
    } catch (err) {
      if (err instanceof AuthError) throw new ApiError(err.status === 403 ? 403 : 401, err.status === 403 ? 'forbidden' : 'unauthorized', err.message);
      throw err;
    }
    const parsed = pubsubPush.safeParse(req.body);
    let address: string | undefined;
    if (parsed.success) {
      try {
        const data = gmailData.safeParse(JSON.parse(Buffer.from(parsed.data.message.data, 'base64').toString('utf8')));
        if (data.success) address = data.data.emailAddress.toLowerCase();
      } catch { /* not JSON: acknowledged and ignored, so Pub/Sub does not redeliver it forever */ }
    }
    // Acknowledge first: Pub/Sub redelivers what is not acknowledged in time; the historyId is not trusted —
    // the worker reads history from its own stored cursor, which therefore never moves backwards.
    res.status(204).end();
    if (!address) return;
    const found = await routes.mailboxesFor({ provider: 'google', address });
    for (const m of found) {
      await runInOrg(m.orgId, () => deps.sync.markDue(m._id)).catch((err: Error) => deps.log.warn({ err: err.message }, 'marking mailbox due failed'));
    }
  });

  let background = 0;
  const dropped = (reason: string, n = 1) => { if (n > 0) deps.metrics?.pushDropped.inc({ provider: 'microsoft', reason }, n); };

  const graphHandler = (kind: 'change' | 'lifecycle') => async (req: express.Request, res: express.Response) => {
    const validationToken = req.query.validationToken;
    if (typeof validationToken === 'string') {
      // The subscription handshake: echo the token as text/plain within 10 seconds.
      return void res.status(200).type('text/plain').send(validationToken);
    }
    res.status(202).end();
    // Cut to the cap before validating: the rest is neither parsed nor looked up.
    const all: unknown[] = Array.isArray((req.body as { value?: unknown })?.value) ? (req.body as { value: unknown[] }).value : [];
    dropped('over_request_cap', all.length - MAX_NOTIFICATIONS_PER_REQUEST);
    const parsed = graphNotifications.safeParse({ value: all.slice(0, MAX_NOTIFICATIONS_PER_REQUEST) });
    if (!parsed.success) return;
    const items = parsed.data.value;
    if (background >= MAX_BACKGROUND) return dropped('busy', items.length);
    background += 1;
    try {
      await handleGraphItems(kind, items);
    } finally {
      background -= 1;
    }
  };

  const handleGraphItems = async (kind: 'change' | 'lifecycle', items: z.infer<typeof graphNotifications>['value']) => {
    let refused = 0;
    for (const item of items) {
      const [mailbox] = await routes.mailboxesFor({ provider: 'microsoft', channelId: item.subscriptionId });
      if (!mailbox?.push?.clientState || !item.clientState || !sameSecret(item.clientState, mailbox.push.clientState)) {
        refused += 1;
        continue;
      }
      await runInOrg(mailbox.orgId, async () => {
        if (kind === 'lifecycle' && (item.lifecycleEvent === 'reauthorizationRequired' || item.lifecycleEvent === 'subscriptionRemoved')) {
          // Due for renewal now: the renewal step renews it, or re-creates it when Graph no longer knows it.
          await Mailbox.updateOne({ _id: mailbox._id }, { $set: { 'push.expiresAt': new Date() } });
        }
        // A checked change notification names its message: a hint for the round (engine/push-hints.ts).
        const messageId = item.resourceData?.id;
        const hint = kind === 'change' && messageId && item.changeType && GRAPH_CHANGE_TYPES.has(item.changeType) ? messageId : undefined;
        // Every change, and a `missed` lifecycle event, means: catch up from the stored delta cursor.
        await deps.sync.markDue(mailbox._id, hint);
      });
    }
    if (refused > 0) {
      // One line per request, whatever its size: a flood of forged items is not a flood of log lines.
      dropped('unknown_or_forged', refused);
      deps.log.warn({ kind, refused, of: items.length }, 'graph notifications dropped: unknown subscription or wrong clientState');
    }
  };
  router.post('/webhooks/graph', graphHandler('change'));
  router.post('/webhooks/graph/lifecycle', graphHandler('lifecycle'));
  return router;
}

