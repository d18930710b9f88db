/**
 * Slowing down clients that send too much: 429 with `Retry-After`, per client address and per user
 * (docs/SECURITY.md, "Rate limits"). Counters live in each API process's memory (express-rate-limit's store): with
 * several `--role api` processes behind a balancer the limits are per process, which only makes them more generous;
 * they are there against floods and guessing, not for billing. Defaults leave normal use alone (a hundred failed
 * sign-ins a minute from one address still pass) and are configurable.
 */
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Config } from '../config';
import { ApiError } from './errors';

export type RateLimitConfig = Pick<Config, 'RATE_LIMIT_SIGN_IN_FAILURES_PER_MINUTE' | 'RATE_LIMIT_USER_PER_MINUTE' | 'RATE_LIMIT_ADDRESS_PER_MINUTE'>;

const MINUTE_MS = 60_000;

const addressOf = (req: Request): string => ipKeyGenerator(req.ip ?? 'unknown');

function limiter(opts: { limit: number; key: (req: Request) => string; failedOnly?: boolean; what: string }): RequestHandler {
  return rateLimit({
    windowMs: MINUTE_MS,
    limit: opts.limit,
    keyGenerator: opts.key,
    skipSuccessfulRequests: opts.failedOnly ?? false,
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    handler: (req, _res, next, options) => {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + options.windowMs) - Date.now()) / 1000));
      next(new ApiError(429, 'rate_limited', `too many ${opts.what}; try again in ${seconds} s`, undefined, { 'Retry-After': String(seconds) }));
    },
  });
}

export interface RateLimits {
  /** POST /api/session, POST /api/session/redeem: failed attempts per client address. */
  signIn: RequestHandler;
  /** Unauthenticated push endpoints: requests per client address. */
  webhooks: RequestHandler;
  /** After authentication: requests per user to the expensive routes (context, why, search, connect). */
  perUser: RequestHandler;
}

export function rateLimits(config: RateLimitConfig): RateLimits {
  return {
    signIn: limiter({ limit: config.RATE_LIMIT_SIGN_IN_FAILURES_PER_MINUTE, key: addressOf, failedOnly: true, what: 'failed sign-ins from this address' }),
    webhooks: limiter({ limit: config.RATE_LIMIT_ADDRESS_PER_MINUTE, key: addressOf, what: 'requests from this address' }),
    perUser: limiter({ limit: config.RATE_LIMIT_USER_PER_MINUTE, key: (req) => String(req.auth?.userId ?? addressOf(req)), what: 'requests for this user' }),
  };
}

/**
 * The routes the per-user limit guards: the sidebar's reads, why, search, starting a connect, and the per-email
 * choices (each loads the organisation's visibility table; "don't log" removes mail and writes keys).
 */
export const EXPENSIVE_ROUTES = [
  '/api/context',
  '/api/addon/context',
  '/api/why',
  '/api/contacts',
  '/api/mailboxes/connect',
  '/api/messages/:id/visibility',
  '/api/messages/:id/choices',
  '/api/me/excluded-messages',
];
