/** What a signed-in request carries, and the middleware that establishes it (and the tenant context). */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Types } from 'mongoose';
import type { SessionRole, SessionTokens } from '../auth/session-token';
import { enterOrg } from '../db/tenant';
import { orgSnapshot, userIn, withRequestSnapshot } from '../store/org-snapshot';
import { forbidden, unauthorized } from './errors';

export interface RequestAuth {
  userId: Types.ObjectId;
  orgId: Types.ObjectId;
  role: SessionRole;
  /** The session token's id and expiry (sign-out) and its identity-provider sign-in time (login links). */
  session?: { tokenId: string; expiresAt: string; authTime: number };
}

declare module 'express-serve-static-core' {
  interface Request {
    auth?: RequestAuth;
  }
}

/**
 * A valid session token, and — from the organisation's snapshot (store/org-snapshot.ts: one read of the
 * organisation by `_id`, its users and signed-out sessions read again whenever they changed) — a session that is
 * still good: not signed out, its user not disabled nor signed out everywhere since. The role is the user's role now,
 * so an admin demoted a moment ago is a member on their next request. The rest of the request takes the
 * organisation and its users from the same snapshot.
 */
export function requireSession(sessions: SessionTokens): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return next(unauthorized('missing bearer token'));
    let claims;
    try {
      claims = sessions.verify(match[1]);
    } catch {
      return next(unauthorized('invalid or expired session'));
    }
    const session = { tokenId: claims.tokenId, expiresAt: claims.expiresAt, authTime: claims.authTime };
    // Everything after this, to the end of the request, queries within the caller's organisation only.
    enterOrg(claims.orgId, () =>
      withRequestSnapshot(() => {
        void sessionStillGood(claims.userId, session).then((role) => {
          if (!role) return next(unauthorized('this session has ended; sign in again'));
          req.auth = { userId: new Types.ObjectId(claims.userId), orgId: new Types.ObjectId(claims.orgId), role, session };
          next();
        }, next);
      }),
    );
  };
}

async function sessionStillGood(userId: string, session: { tokenId: string; authTime: number }): Promise<SessionRole | null> {
  const snapshot = await orgSnapshot();
  const user = snapshot.org ? userIn(snapshot, userId) : undefined;
  if (!user || user.disabled || snapshot.revoked.has(session.tokenId)) return null;
  if (user.sessionsNotBefore && session.authTime * 1000 < new Date(user.sessionsNotBefore).getTime()) return null;
  return user.role;
}

export function auth(req: Request): RequestAuth {
  if (!req.auth) throw unauthorized();
  return req.auth;
}

export function requireAdmin(req: Request): RequestAuth {
  const a = auth(req);
  if (a.role !== 'admin') throw forbidden('only an admin of the organisation can do this');
  return a;
}
