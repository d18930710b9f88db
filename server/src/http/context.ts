/** What a signed-in request carries, and the middleware that establishes it (and the tenant context). */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Types } from 'mongoose';
import type { SessionRole, SessionTokens } from '../auth/session-token';
import { enterOrg } from '../db/tenant';
import { forbidden, unauthorized } from './errors';

export interface RequestAuth { userId: Types.ObjectId; orgId: Types.ObjectId; role: SessionRole }

declare module 'express-serve-static-core' {
  interface Request { auth?: RequestAuth }
}

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
    req.auth = { userId: new Types.ObjectId(claims.userId), orgId: new Types.ObjectId(claims.orgId), role: claims.role };
    // Everything after this, to the end of the request, queries within the caller's organisation only.
    enterOrg(claims.orgId, () => next());
  };
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
