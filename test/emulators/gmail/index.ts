/**
 * The Google emulator: identity (OAuth, JWKS) and the Gmail API on one Express app, as the product sees
 * accounts.google.com, oauth2.googleapis.com, www.googleapis.com and gmail.googleapis.com. Served over http and
 * https by common/index.ts; `control` steers it in-process, `/__control/` over HTTP.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { faultInjector } from '../common/faults';
import { createNodeFetch } from '../common/fetch';
import { requestRecorder } from '../common/recorder';
import { createGoogleIdentity } from '../oauth/google';
import { batchRoutes } from './batch';
import type { GmailContext } from './context';
import { controlRoutes } from './control-routes';
import { createGoogleControl, type GoogleControl } from './control';
import { faultBody, sendGoogleError } from './errors';
import { mailboxRoutes } from './routes-mailbox';
import { messageRoutes, uploadRoutes } from './routes-messages';
import { PushChannel } from './push';
import { QuotaMeter } from './quota';
import { GmailState } from './state';

export interface GoogleEmulatorOptions {
  /** This server's http URL, known once it listens. */
  baseUrl: () => string;
  clientId?: string;
  clientSecret?: string;
  defaultUser?: string;
  /** CA to trust when pushing to an https endpoint signed by the test CA. */
  caPem?: string;
}

export interface GoogleEmulator {
  app: express.Express;
  control: GoogleControl;
  clientId: string;
  clientSecret: string;
  /** Stops timers (pending pushes). */
  close(): void;
}

export const TEST_GOOGLE_CLIENT_ID = 'threadline-test.apps.googleusercontent.com';
export const TEST_GOOGLE_CLIENT_SECRET = 'GOCSPX-threadline-test-secret';

export function createGoogleEmulator(opts: GoogleEmulatorOptions): GoogleEmulator {
  const clientId = opts.clientId ?? TEST_GOOGLE_CLIENT_ID;
  const clientSecret = opts.clientSecret ?? TEST_GOOGLE_CLIENT_SECRET;
  let control: GoogleControl | undefined;
  const identity = createGoogleIdentity({ clientId, clientSecret, defaultUser: opts.defaultUser, onUser: (email) => state.ensure(email) });
  const push = new PushChannel(identity.mintPushToken, createNodeFetch({ ca: opts.caPem }));
  const state = new GmailState((mailbox, record) => {
    const retention = control?.retentionMs();
    if (retention !== null && retention !== undefined) mailbox.expireHistory(retention);
    push.onHistory(mailbox, record);
  });
  const ctx: GmailContext = { state, quota: new QuotaMeter(), push, authenticate: identity.authenticate, baseUrl: opts.baseUrl, batchEndpoint: true };

  const recorder = requestRecorder({
    name: (req) => (req.res?.locals.op as string | undefined) ?? undefined,
    // Concurrency is counted per mailbox, known from the bearer token before routing.
    group: (req) => {
      const token = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
      return token ? identity.authenticate(token)?.email : undefined;
    },
  });
  const faults = faultInjector({ errorBody: faultBody });
  control = createGoogleControl(ctx, identity, faults, recorder);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(controlRoutes(control));
  app.use(recorder);
  app.use(faults);
  app.use(identity.router);
  app.use(batchRoutes(ctx));
  // Gmail accepts messages up to 35 MB once base64-encoded in JSON.
  app.use(express.json({ limit: '60mb' }));
  app.use('/gmail/v1', mailboxRoutes(ctx), messageRoutes(ctx));
  app.use('/upload/gmail/v1', uploadRoutes(ctx));
  app.use((_req: Request, res: Response) => sendGoogleError(res, 404, 'Not Found', { reason: 'notFound' }));
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.parse.failed') return sendGoogleError(res, 400, 'Invalid JSON payload received.', { reason: 'parseError' });
    if (err.status === 413) return sendGoogleError(res, 413, 'Request too large', { reason: 'uploadTooLarge' });
    sendGoogleError(res, 500, `Emulator error: ${err.message}`, { reason: 'backendError' });
  });

  return { app, control, clientId, clientSecret, close: () => push.close() };
}

export type { GoogleControl } from './control';
