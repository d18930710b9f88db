/** POST /api/session: an add-on's identity token in, a Threadline session out (CONTRACT.md "Sessions"). */
import { Router } from 'express';
import { z } from 'zod';
import type { IdentityVerifier } from '../auth/identity';
import type { SessionTokens } from '../auth/session-token';
import { signIn } from '../auth/sign-in';

const body = z.object({ provider: z.enum(['google', 'microsoft']), token: z.string().min(1).max(16_384) }).strict();

export function sessionRoutes(deps: { identity: IdentityVerifier; sessions: SessionTokens }): Router {
  const router = Router();
  router.post('/api/session', async (req, res) => {
    const { provider, token } = body.parse(req.body);
    const identity = provider === 'google'
      ? await deps.identity.verifyGoogleIdToken(token)
      : await deps.identity.verifyMicrosoftAccessToken(token);
    const { org, user } = await signIn(identity);
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
