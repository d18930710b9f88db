/**
 * Express assembly, free of side effects: everything it needs comes in as dependencies, so tests build
 * an app on a test database and main.ts builds the real one.
 */
import { randomUUID } from 'node:crypto';
import express, { Express, Router } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { IdentityVerifier } from './auth/identity';
import type { SessionTokens } from './auth/session-token';
import type { Config } from './config';
import { errorHandler, notFoundRoute } from './http/errors';
import { healthRoutes } from './http/health-routes';
import { requireSession } from './http/context';
import { sessionRoutes } from './http/session-routes';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

export interface AppDeps {
  config: Pick<Config, 'PUBLIC_URL'> & Partial<Pick<Config, 'METRICS_TOKEN'>>;
  log: Logger;
  metrics: Metrics;
  identity: IdentityVerifier;
  sessions: SessionTokens;
  databaseAnswers: () => Promise<boolean>;
  /** Routes before sign-in (OAuth callbacks, webhooks, add-in files). */
  publicRouters?: Router[];
  /** Routes under /api that need a session. */
  apiRouters?: Router[];
}

export const BODY_LIMIT = '12mb';

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet());
  app.use(pinoHttp({
    logger: deps.log,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // Method, path and status are enough; headers (and any tokens in them) stay out of the logs.
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
  }));
  app.use((req, res, next) => {
    const stop = deps.metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? String(req.route.path) : 'unmatched';
      deps.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      stop({ method: req.method, route });
    });
    next();
  });
  app.use(express.json({ limit: BODY_LIMIT }));

  // Mail, sessions and settings must never sit in a browser's or a proxy's cache.
  app.use('/api', (_req, res, next) => { res.setHeader('Cache-Control', 'no-store'); next(); });
  app.use(healthRoutes({ databaseAnswers: deps.databaseAnswers, registry: deps.metrics.registry, metricsToken: deps.config.METRICS_TOKEN }));
  app.use(sessionRoutes({ identity: deps.identity, sessions: deps.sessions }));
  for (const router of deps.publicRouters ?? []) app.use(router);
  app.use('/api', requireSession(deps.sessions));
  for (const router of deps.apiRouters ?? []) app.use(router);

  app.use(notFoundRoute);
  app.use(errorHandler(deps.log));
  return app;
}

/** Every (method, path) the app serves, read from Express's router (for the OpenAPI golden test). */
export function listRoutes(app: Express): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) out.push({ method: method.toUpperCase(), path: layer.route.path });
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
