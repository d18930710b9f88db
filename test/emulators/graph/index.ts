/**
 * The Microsoft side of the provider emulators: Microsoft identity (/{tenant}/oauth2/v2.0/..., JWKS) and Graph v1.0
 * mail (/v1.0/...) on one origin, plus the control API under /__control/. `baseUrl()` is that origin as clients
 * see it; it builds @odata.nextLink/deltaLink/context URLs, so a client following them stays on the emulator.
 */
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { faultInjector } from '../common/faults';
import { requestRecorder } from '../common/recorder';
import { MicrosoftIdentity } from '../oauth/microsoft';
import { graphAuth } from './auth';
import { batchRoutes } from './routes/batch';
import { ActionLog, type RouteDeps } from './context';
import { controlRouter, createControl, type MicrosoftControl } from './control';
import { DeltaTokens } from './delta';
import { Notifier } from './notifications';
import { sendGraphError } from './odata';
import { attachmentRoutes } from './routes/attachments';
import { deltaRoutes } from './routes/delta';
import { folderRoutes } from './routes/folders';
import { messageRoutes } from './routes/messages';
import { sendRoutes } from './routes/send';
import { subscriptionRoutes } from './routes/subscriptions';
import { GraphError, MailStore } from './store';
import { Throttle } from './throttle';

export type { MicrosoftControl, SeedItem, MessageSummary } from './control';
export type { AddinTokenClaims } from '../oauth/microsoft';

export interface MicrosoftEmulatorOptions {
  baseUrl: () => string;
  /** Used when authorize has no login_hint. */
  defaultUser?: string;
}

/**
 * Graph accepts OData key syntax and namespaced actions: `mailFolders('inbox')` is `mailFolders/inbox`, and
 * `microsoft.graph.delta` is `delta`. Rewrite them once so the routes see one form.
 */
const normalizeODataPath: RequestHandler = (req, _res, next) => {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const rest = q < 0 ? '' : req.url.slice(q);
  const normalized = path
    .replace(/\/(\w+)\(('|%27)([^/]*?)('|%27)\)/g, (_m, segment: string, _a, key: string) => `/${segment}/${key}`)
    .replace(/\/microsoft\.graph\.(\w+)/gi, '/$1');
  req.url = normalized + rest;
  next();
};

/** Names recorded requests by operation, with ids folded, so counters read `GET /v1.0/me/mailFolders/{id}/messages/delta`. */
const operationName = (req: express.Request): string =>
  `${req.method} ${req.originalUrl
    .split('?')[0]
    ?.replace(/\/[A-Za-z0-9_=-]{20,}(?=\/|$)/g, '/{id}')
    .replace(/\('[^']*'\)/g, '/{id}')}`;

export function createMicrosoftEmulator(opts: MicrosoftEmulatorOptions): { app: Express; control: MicrosoftControl } {
  const store = new MailStore();
  const defaultUser = opts.defaultUser ?? 'user@contoso.test';
  const identity = new MicrosoftIdentity({ userFor: (address) => store.ensure(address?.trim() || defaultUser).user });
  const deltaTokens = new DeltaTokens(store);
  const throttle = new Throttle();
  const notifier = new Notifier(store);
  const log = new ActionLog();
  const faults = faultInjector({
    errorBody: (status) => ({
      error: {
        code: status === 503 ? 'ServiceNotAvailable' : 'InternalServerError',
        message: status === 503 ? 'Service is unavailable (injected).' : 'An internal server error occurred (injected).',
      },
    }),
  });
  const recorder = requestRecorder({
    name: operationName,
    group: (req) => {
      const token = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
      const info = token ? identity.resolveAccessToken(token) : undefined;
      return info && info !== 'expired' ? info.user.address.toLowerCase() : undefined;
    },
  });
  const deps: RouteDeps = { store, baseUrl: opts.baseUrl, log };
  const control = createControl({ store, identity, deltaTokens, throttle, notifier, faults, recorder, log });

  const app = express();
  const graph = express.Router();
  graph.use(normalizeODataPath);
  graph.use(express.json({ limit: '40mb' }));
  graph.use(graphAuth(identity, store));
  // $batch is not throttled itself: each request inside it is, when it is replayed through this router.
  graph.use(batchRoutes(() => app));
  graph.use(throttle.middleware());
  graph.use(faults);
  graph.use(deltaRoutes(deps, deltaTokens));
  graph.use(folderRoutes(deps));
  graph.use(sendRoutes(deps));
  graph.use(['/me/messages/:messageId/attachments', '/me/mailFolders/:folderId/messages/:messageId/attachments'], attachmentRoutes(deps));
  graph.use(messageRoutes(deps));
  graph.use(subscriptionRoutes(deps, notifier));
  graph.use((req, res) => {
    sendGraphError(req, res, new GraphError(400, 'BadRequest', `Resource not found for the segment '${req.path.split('/').filter(Boolean).pop() ?? ''}'.`));
  });
  const graphErrors: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if ((err as { type?: string }).type === 'entity.parse.failed') {
      return sendGraphError(req, res, new GraphError(400, 'BadRequest', 'Unable to read JSON request payload.'));
    }
    sendGraphError(req, res, new GraphError(500, 'InternalServerError', String((err as Error).message ?? err)));
  };
  graph.use(graphErrors);

  app.disable('x-powered-by');
  app.use('/__control', controlRouter(control));
  app.use(recorder);
  app.use(identity.router(opts.baseUrl));
  app.use('/v1.0', graph);
  return { app, control };
}
