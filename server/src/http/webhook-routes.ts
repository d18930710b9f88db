/**
 * Push endpoints (/webhooks/… in server/openapi.yaml), one route per endpoint of each provider's push receiver
 * (sync/providers/port.ts PushReceiver), which verifies, parses and answers handshakes. A notification is only a
 * hint: it marks the mailbox due and is answered at once; the workers do the work. Nothing in a notification is
 * trusted as data.
 */
import type express from 'express';
import { Router } from 'express';
import { sameSecret } from '../auth/secrets';
import { runInOrg } from '../db/tenant';
import type { Logger } from '../logger';
import { Mailbox } from '../models/mailbox';
import type { SyncControl } from '../sync/control/control';
import { PushRefused, type PushNotice, type PushReceiver } from '../sync/providers/port';
import type { Metrics } from '../metrics';
import { ApiError } from './errors';
import { PushRouter, type RoutedMailbox } from './push-routing';

export interface WebhookDeps {
  receivers: readonly PushReceiver[];
  sync: Pick<SyncControl, 'markDue'>;
  log: Logger;
  metrics?: Pick<Metrics, 'pushDropped'>;
}

export interface Webhooks {
  router: Router;
  /**
   * Settles once the work after every answer given so far is done (the mailboxes marked due), including work that
   * began meanwhile: what a test awaits instead of sleeping.
   */
  idle(): Promise<void>;
}

export function webhookRoutes(deps: WebhookDeps): Webhooks {
  const router = Router();
  const routes = new PushRouter();
  const pending = new Set<Promise<void>>();
  const inFlight = new Map<string, number>();

  /** The mailboxes a notice may mark due: a channel's only when the notice carries the channel's own secret. */
  const mailboxesOf = async (receiver: PushReceiver, notice: PushNotice): Promise<RoutedMailbox[] | 'refused'> => {
    const { to } = notice;
    if ('address' in to) return routes.mailboxesFor({ provider: receiver.provider, address: to.address });
    const [mailbox] = await routes.mailboxesFor({ provider: receiver.provider, channelId: to.channelId });
    const stored = mailbox?.push?.clientState;
    return stored && to.clientState && sameSecret(to.clientState, stored) ? [mailbox] : 'refused';
  };

  const act = async (receiver: PushReceiver, endpoint: string, notices: readonly PushNotice[]): Promise<void> => {
    let refused = 0;
    // One due-mark per mailbox, whatever number of its notices the request carries (a burst of new mail arrives
    // as many notices in one request): their hints and any renewal ride on it.
    const due = new Map<string, { mailbox: RoutedMailbox; hints: string[]; renew: boolean }>();
    for (const notice of notices) {
      const found = await mailboxesOf(receiver, notice);
      if (found === 'refused') {
        refused += 1;
        continue;
      }
      for (const m of found) {
        const entry = due.get(String(m._id)) ?? { mailbox: m, hints: [], renew: false };
        if (notice.hint) entry.hints.push(notice.hint);
        entry.renew ||= notice.renewChannel === true;
        due.set(String(m._id), entry);
      }
    }
    for (const { mailbox: m, hints, renew } of due.values()) {
      await runInOrg(m.orgId, async () => {
        // Due for renewal now: the renewal step renews the channel, or makes it again when the provider forgot it.
        if (renew) await Mailbox.updateOne({ _id: m._id }, { $set: { 'push.expiresAt': new Date() } });
        await deps.sync.markDue(m._id, hints);
      }).catch((err: Error) => deps.log.warn({ err: err.message, provider: receiver.provider }, 'marking mailbox due failed'));
    }
    if (refused > 0) {
      // One line per request, whatever its size: a flood of forged items is not a flood of log lines.
      deps.metrics?.pushDropped.inc({ provider: receiver.provider, reason: 'unknown_or_forged' }, refused);
      deps.log.warn(
        { provider: receiver.provider, endpoint, refused, of: notices.length },
        'push notifications dropped: unknown channel or wrong client state',
      );
    }
  };

  /** Runs the work after an answer, bounded per provider when its receiver asks, and tracked for idle(). */
  const after = (receiver: PushReceiver, endpoint: string, notices: readonly PushNotice[]): void => {
    const running = inFlight.get(receiver.provider) ?? 0;
    if (receiver.maxInFlight !== undefined && running >= receiver.maxInFlight) {
      deps.metrics?.pushDropped.inc({ provider: receiver.provider, reason: 'busy' }, notices.length);
      return;
    }
    inFlight.set(receiver.provider, running + 1);
    const work = act(receiver, endpoint, notices)
      .catch((err: Error) => deps.log.error({ err, provider: receiver.provider }, 'acting on push notifications failed'))
      .finally(() => {
        inFlight.set(receiver.provider, (inFlight.get(receiver.provider) ?? 1) - 1);
        pending.delete(work);
      });
    pending.add(work);
  };

  const handler = (receiver: PushReceiver, endpoint: string) => async (req: express.Request, res: express.Response) => {
    let receipt;
    try {
      receipt = await receiver.receive({ endpoint, headers: req.headers, query: req.query, body: req.body });
    } catch (err) {
      if (err instanceof PushRefused) throw new ApiError(err.status, err.status === 403 ? 'forbidden' : 'unauthorized', err.message);
      throw err;
    }
    if (receipt.kind === 'answer') return void res.status(receipt.status).type(receipt.contentType).send(receipt.body);
    // Acknowledged first: a provider redelivers (or throttles) what is not answered in time.
    res.status(receipt.status).end();
    for (const [reason, n] of Object.entries(receipt.dropped ?? {})) {
      if (n > 0) deps.metrics?.pushDropped.inc({ provider: receiver.provider, reason }, n);
    }
    if (receipt.notices.length > 0) after(receiver, endpoint, receipt.notices);
  };

  for (const receiver of deps.receivers) {
    for (const endpoint of receiver.endpoints) router.post(`/webhooks/${endpoint}`, handler(receiver, endpoint));
  }
  return {
    router,
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
