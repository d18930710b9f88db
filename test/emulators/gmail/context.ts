/**
 * What every Gmail route needs: the state, quota, push, and the `op()` wrapper that names the operation
 * (for the request log), authenticates the caller, resolves `userId` and charges the method's quota units.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendGoogleError, unauthenticated } from './errors';
import type { PushChannel } from './push';
import { type QuotaMeter, quotaErrorBody } from './quota';
import type { GmailState } from './state';
import type { Mailbox } from './store';

export interface GmailContext {
  state: GmailState;
  quota: QuotaMeter;
  push: PushChannel;
  authenticate(accessToken: string): { email: string; scopes: string[] } | undefined;
  /** This server's own http URL (the URL and Host the batch endpoint hands its inner calls to the app with). */
  baseUrl(): string;
  /** Off: the batch endpoint answers 404 like any unknown path (an API root without it; control.setBatchEndpoint). */
  batchEndpoint: boolean;
}

export type GmailHandler = (req: Request, res: Response, mailbox: Mailbox) => void | Promise<void>;

export function op(ctx: GmailContext, name: string, handler: GmailHandler): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals.op = `gmail.users.${name}`;
    const token = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const grant = token ? ctx.authenticate(token) : undefined;
    if (!grant) return unauthenticated(res);
    const userId = (param(req, 'userId') || 'me').toLowerCase();
    if (userId !== 'me' && userId !== grant.email) {
      return sendGoogleError(res, 403, `Delegation denied for ${grant.email}`, { reason: 'forbidden' });
    }
    res.locals.user = grant.email;
    if (!ctx.quota.charge(grant.email, name)) {
      const status = ctx.quota.status();
      return void res.status(status).json(quotaErrorBody(status));
    }
    try {
      await handler(req, res, ctx.state.ensure(grant.email));
    } catch (err) {
      next(err);
    }
  };
}

/** Query values that Gmail allows repeated (`labelIds=A&labelIds=B`) arrive as a string or an array. */
export function many(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).filter(Boolean);
}

export function pageSize(value: unknown, fallback: number, max: number): number {
  const n = Number(value ?? fallback);
  return Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), max) : fallback;
}

/** A route parameter as one string (Express 5 types allow arrays for wildcard params). */
export function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value.join('/') : (value ?? '');
}
