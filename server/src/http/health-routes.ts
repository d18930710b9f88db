import { Router } from 'express';
import type { Registry } from 'prom-client';
import { sameSecret } from '../auth/secrets';

/**
 * Liveness, readiness and Prometheus metrics. With METRICS_TOKEN set (required in production on a public address:
 * config.ts), `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`: its counters name routes, providers
 * and error codes an outsider has no business reading.
 */
export function healthRoutes(deps: { databaseAnswers: () => Promise<boolean>; registry: Registry; metricsToken?: string }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (await deps.databaseAnswers()) res.json({ status: 'ready' });
    else res.status(503).json({ error: { code: 'not_ready', message: 'the database does not answer' } });
  });
  router.get('/metrics', async (req, res) => {
    if (deps.metricsToken) {
      const presented = /^Bearer (.+)$/i.exec(req.header('authorization') ?? '')?.[1] ?? '';
      if (!sameSecret(presented, deps.metricsToken)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        return void res.status(401).json({ error: { code: 'unauthorized', message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' } });
      }
    }
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  return router;
}
