/**
 * Express assembly, free of side effects: everything it needs comes in as dependencies, so tests build
 * an app on a test database and main.ts builds the real one.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express, type Router } from 'express';
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
import { EXPENSIVE_ROUTES, rateLimits, type RateLimitConfig } from './http/rate-limits';

export interface AppDeps {
  config: Pick<Config, 'PUBLIC_URL'> & Partial<Pick<Config, 'METRICS_TOKEN' | 'JSON_BODY_LIMIT' | 'MESSAGE_BODY_LIMIT'>> & Partial<RateLimitConfig>;
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

/** Sending from the CRM carries attachments: only that route reads a large body, and only once signed in. */
const SEND_ROUTE = '/api/messages';

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet());
  app.use(
    pinoHttp({
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
    }),
  );
  app.use((req, res, next) => {
    const stop = deps.metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? String(req.route.path) : 'unmatched';
      deps.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      stop({ method: req.method, route });
    });
    next();
  });
  const limits = rateLimits({
    RATE_LIMIT_SIGN_IN_FAILURES_PER_MINUTE: deps.config.RATE_LIMIT_SIGN_IN_FAILURES_PER_MINUTE ?? 300,
    RATE_LIMIT_ADDRESS_PER_MINUTE: deps.config.RATE_LIMIT_ADDRESS_PER_MINUTE ?? 12_000,
    RATE_LIMIT_USER_PER_MINUTE: deps.config.RATE_LIMIT_USER_PER_MINUTE ?? 6_000,
  });
  const smallJson = express.json({ limit: deps.config.JSON_BODY_LIMIT ?? '512kb' });
  const largeJson = express.json({ limit: deps.config.MESSAGE_BODY_LIMIT ?? '12mb' });
  app.use((req, res, next) => (req.method === 'POST' && req.path === SEND_ROUTE ? next() : smallJson(req, res, next)));
  app.use(['/api/session', '/api/session/redeem'], (req, res, next) => (req.method === 'POST' ? limits.signIn(req, res, next) : next()));
  app.use('/webhooks', limits.webhooks);

  // Mail, sessions and settings must never sit in a browser's or a proxy's cache.
  app.use('/api', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(healthRoutes({ databaseAnswers: deps.databaseAnswers, registry: deps.metrics.registry, metricsToken: deps.config.METRICS_TOKEN }));
  app.use(sessionRoutes({ identity: deps.identity, sessions: deps.sessions }));
  for (const router of deps.publicRouters ?? []) app.use(router);
  app.use('/api', requireSession(deps.sessions));
  app.post(SEND_ROUTE, largeJson);
  app.use(EXPENSIVE_ROUTES, limits.perUser);
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
