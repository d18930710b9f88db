/** POST /api/session: an add-on's identity token in, a Threadline session out (docs/SECURITY.md "Sessions"). */
import { Router } from 'express';
import mongoose from 'mongoose';
import { SessionRevocation } from '../models/session-revocation';
import { User } from '../models/user';
import { auth } from './context';
import { SessionRequest } from '@threadline/shared/src/api/account';
import type { IdentityVerifier } from '../auth/identity';
import type { SessionTokens } from '../auth/session-token';
import { signIn } from '../auth/sign-in';
import { forbidden } from './errors';

const body = SessionRequest;

export function sessionRoutes(deps: { identity: IdentityVerifier; sessions: SessionTokens }): Router {
  const router = Router();
  router.post('/api/session', async (req, res) => {
    const { provider, token } = body.parse(req.body);
    const identity = provider === 'google' ? await deps.identity.verifyGoogleIdToken(token) : await deps.identity.verifyMicrosoftAccessToken(token);
    const { org, user } = await signIn(identity);
    if (user.disabled) throw forbidden('an admin of your organisation has disabled this account in Threadline');
    const session = deps.sessions.sign({ userId: String(user._id), orgId: String(org._id), role: user.role });
    res.json({
      token: session.token,
      expiresAt: session.expiresAt,
      user: { id: String(user._id), email: user.email, name: user.name, role: user.role },
      org: { id: String(org._id), name: org.name },
    });
  });
  return router;
}

/**
 * Sign-out (needs the session, so it is mounted with the /api routers): DELETE /api/session ends this session at
 * once, for every API process (http/context.ts checks revocations on each request); `?everywhere=true` ends every
 * session of the user signed in until now. The add-ons sign in again with a fresh identity-provider token.
 */
export function signOutRoutes(): Router {
  const router = Router();
  router.delete('/api/session', async (req, res) => {
    const a = auth(req);
    const now = new Date();
    await SessionRevocation.deleteMany({ expiresAt: mongoose.trusted({ $lte: now }) });
    if (a.session) {
      await SessionRevocation.updateOne(
        { _id: a.session.tokenId },
        { $setOnInsert: { userId: a.userId, expiresAt: new Date(a.session.expiresAt) } },
        { upsert: true },
      );
    }
    if (req.query.everywhere === 'true') await User.updateOne({ _id: a.userId }, { $set: { sessionsNotBefore: now } });
    res.status(204).end();
  });
  return router;
}
