import { Router } from 'express';
import type { Registry } from 'prom-client';

export function healthRoutes(deps: { databaseAnswers: () => Promise<boolean>; registry: Registry }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  router.get('/readyz', async (_req, res) => {
    if (await deps.databaseAnswers()) res.json({ status: 'ready' });
    else res.status(503).json({ error: { code: 'not_ready', message: 'the database does not answer' } });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  return router;
}
