/**
 * `/__control/…`: the control object over HTTP (JSON), for tests and tools in another process than the
 * emulator (e.g. `npm run emulators` + a server under test). Raw messages travel as base64.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { GoogleControl, SeedItem, UserAction } from './control';

type Json = Record<string, unknown>;

const str = (req: Request, name: string): string => String((req.params as Record<string, string>)[name] ?? '');

export function controlRoutes(control: GoogleControl): Router {
  const router = express.Router();
  router.use('/__control', express.json({ limit: '200mb' }));
  const body = (req: Request): Json => (req.body ?? {}) as Json;
  const ok = (res: Response, value: unknown = { ok: true }) => res.json(value);

  router.get('/__control/state', (_req, res) =>
    ok(res, {
      identity: control.identityCounters(),
      grants: control.grants(),
      quota: control.quota(),
      faults: control.faultCounters(),
      requests: control.requestCounters(),
      historyRetentionMs: control.retentionMs(),
    }),
  );
  router.get('/__control/mailboxes/:email/messages', (req, res) =>
    ok(res, { messages: control.messages(str(req, 'email')), historyId: control.historyId(str(req, 'email')) }),
  );
  router.post('/__control/mailboxes/:email/seed', async (req, res) => {
    const b = body(req);
    if (typeof b.dir === 'string') return ok(res, { ids: await control.seedFromDirectory(str(req, 'email'), b.dir, b.labelIds as string[] | undefined) });
    const items = ((b.messages as Array<{ raw: string; labelIds?: string[]; internalDate?: number }>) ?? []).map(
      (m): SeedItem => ({ raw: Buffer.from(m.raw, 'base64'), labelIds: m.labelIds ?? ['INBOX'], internalDate: m.internalDate }),
    );
    ok(res, { ids: control.seed(str(req, 'email'), items) });
  });
  router.post('/__control/mailboxes/:email/deliver', (req, res) =>
    ok(res, control.deliver(str(req, 'email'), Buffer.from(String(body(req).raw ?? ''), 'base64'), body(req).labelIds as string[] | undefined)),
  );
  router.post('/__control/mailboxes/:email/messages/:id/act', (req, res) => {
    const done = control.act(str(req, 'email'), str(req, 'id'), body(req).action as UserAction);
    res.status(done ? 200 : 404).json({ ok: done });
  });
  router.post('/__control/mailboxes/:email/messages/:id/labels', (req, res) => {
    const b = body(req);
    const done = control.label(str(req, 'email'), str(req, 'id'), (b.add as string[]) ?? [], (b.remove as string[]) ?? []);
    res.status(done ? 200 : 404).json({ ok: done });
  });
  router.post('/__control/mailboxes/:email/labels', (req, res) => ok(res, { id: control.createLabel(str(req, 'email'), String(body(req).name)) }));
  router.post('/__control/mailboxes/:email/expire-history', (req, res) => {
    control.expireHistory(str(req, 'email'), Number(body(req).ageMs ?? 0));
    ok(res);
  });
  router.put('/__control/history-retention', (req, res) => {
    control.setHistoryRetention(body(req).ms === null ? null : Number(body(req).ms));
    ok(res);
  });
  router.post('/__control/mailboxes/:email/expire-watch', (req, res) => {
    control.expireWatch(str(req, 'email'));
    ok(res);
  });
  router.post('/__control/users/:email/revoke', (req, res) => ok(res, { revoked: control.revokeUser(str(req, 'email')) }));
  router.post('/__control/users/:email/expire-tokens', (req, res) => {
    control.expireAccessTokens(str(req, 'email'));
    ok(res);
  });
  router.put('/__control/consent', (req, res) => {
    control.setConsent(body(req).mode as 'auto' | 'deny' | 'page');
    ok(res);
  });
  router.put('/__control/faults', (req, res) => {
    control.setFaults(body(req));
    ok(res);
  });
  router.delete('/__control/faults', (_req, res) => {
    control.clearFaults();
    ok(res);
  });
  router.put('/__control/quota', (req, res) => {
    control.setQuota(body(req));
    ok(res);
  });
  router.put('/__control/push', (req, res) => {
    control.configurePush(body(req));
    ok(res);
  });
  router.post('/__control/id-token', async (req, res) => ok(res, { token: await control.mintIdToken(body(req) as { email: string }) }));
  router.get('/__control/pushes', (_req, res) => ok(res, { pushes: control.pushes() }));
  router.get('/__control/requests', (req, res) =>
    ok(res, {
      requests: control.requests({ name: req.query.name as string | undefined, sinceSeq: Number(req.query.sinceSeq ?? 0) }),
      counters: control.requestCounters(),
    }),
  );
  router.get('/__control/errors', (_req, res) => ok(res, { errors: control.errors() }));
  router.get('/__control/sends', (_req, res) => ok(res, { sends: control.sends().map((s) => ({ ...s, raw: s.raw.toString('base64') })) }));
  router.get('/__control/modifications', (_req, res) => ok(res, { modifications: control.modifications() }));
  router.post('/__control/reset-logs', (_req, res) => {
    control.resetLogs();
    ok(res);
  });
  return router;
}
