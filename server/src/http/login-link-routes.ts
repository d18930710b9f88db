/**
 * One-time sign-in links: a signed-in add-on asks for a link (`POST /api/session/link`) and opens it in
 * the browser; the web console redeems the code from the URL fragment (`POST /api/session/redeem`) for an ordinary
 * session. The fragment never reaches a server log or a Referer header, the code is single-use, lives two minutes,
 * and is stored hashed.
 *
 * The code is `<orgId>.<secret>`: the redeem route is public, and the org part lets its lookups stay
 * tenant-scoped, as the OAuth state does (sync/control/connect.ts). Single use is claimed with a `deleteOne` by `_id`:
 * FerretDB runs `findOneAndUpdate` as a read then a write (models/sync-lock.ts), but a delete of one row is
 * atomic, so of two racing redeems exactly one sees `deletedCount === 1`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Router } from 'express';
import mongoose from 'mongoose';
import { RedeemRequest } from '@threadline/shared/src/api/account';
import type { SessionTokens } from '../auth/session-token';
import { runInOrg } from '../db/tenant';
import { LoginLink, type LoginLinkDoc } from '../models/login-link';
import { Org, type OrgDoc } from '../models/org';
import { User, type UserDoc } from '../models/user';
import { auth } from './context';
import { unauthorized } from './errors';

export const LOGIN_LINK_TTL_MS = 2 * 60_000;
const CODE = /^([0-9a-f]{24})\.([A-Za-z0-9_-]{43})$/;
const redeemBody = RedeemRequest;

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('base64url');

export interface LoginLinkDeps {
  sessions: SessionTokens;
  publicUrl: string;
  now?: () => number;
}

/** Two routers: `create` needs a session (mount with the /api routers), `redeem` is how one is obtained (public). */
export function loginLinkRoutes(deps: LoginLinkDeps): { create: Router; redeem: Router } {
  const now = deps.now ?? Date.now;
  const create = Router();
  const redeem = Router();

  create.post('/api/session/link', async (req, res) => {
    const a = auth(req);
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now() + LOGIN_LINK_TTL_MS);
    // No TTL index on FerretDB: the org's expired links go whenever a new one is made.
    await LoginLink.deleteMany({ expiresAt: mongoose.trusted({ $lte: new Date(now()) }) });
    await LoginLink.create({ codeHash: hashOf(secret), userId: a.userId, expiresAt, authTime: a.session?.authTime ?? null });
    res.setHeader('Cache-Control', 'no-store');
    res.json({ url: `${deps.publicUrl}/app/#login=${a.orgId.toHexString()}.${secret}`, expiresAt: expiresAt.toISOString() });
  });

  redeem.post('/api/session/redeem', async (req, res) => {
    const { code } = redeemBody.parse(req.body);
    const match = CODE.exec(code);
    // One answer for every failure, so the route tells nothing about which codes exist.
    const refused = () => unauthorized('this sign-in link is unknown, expired or already used; open a new one');
    if (!match) throw refused();
    const [, orgHex, secret] = match;
    const answer = await runInOrg(orgHex, async () => {
      const link = await LoginLink.findOne({ codeHash: hashOf(secret), expiresAt: mongoose.trusted({ $gt: new Date(now()) }) }).lean<LoginLinkDoc>();
      if (!link) return null;
      const claimed = await LoginLink.deleteOne({ _id: link._id });
      if (claimed.deletedCount !== 1) return null;
      const [user, org] = await Promise.all([User.findById(link.userId).lean<UserDoc>(), Org.findById(orgHex).lean<OrgDoc>()]);
      return user && org && !user.disabled ? { user, org, authTime: link.authTime ?? undefined } : null;
    });
    if (!answer) throw refused();
    const { user, org, authTime } = answer;
    // The role as it is now, not as it was when the link was made; the lifetime counts from the sign-in the link's
    // session came from, so chaining links never outlives SESSION_MAX_AGE_SECONDS.
    let session;
    try {
      session = deps.sessions.sign({ userId: String(user._id), orgId: String(org._id), role: user.role, authTime });
    } catch {
      throw unauthorized('the sign-in behind this link is too old; sign in again from the add-on');
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      token: session.token,
      expiresAt: session.expiresAt,
      user: { id: String(user._id), email: user.email, name: user.name, role: user.role },
      org: { id: String(org._id), name: org.name },
    });
  });

  return { create, redeem };
}
