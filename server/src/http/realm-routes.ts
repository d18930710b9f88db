/**
 * Identity realms of the organisation (auth/realms.ts): list them, and "add a Microsoft 365 tenant" — an admin
 * starts it here, signs in at Microsoft as an administrator of the tenant, and the callback attaches the tenant.
 */
import { Router } from 'express';
import { RealmStart } from '@threadline/shared/src/api/account';
import { abandonMicrosoftRealm, completeMicrosoftRealm, listRealms, RealmError, startMicrosoftRealm, type RealmFlowDeps } from '../auth/realms';
import { requireAdmin } from './context';
import { ApiError } from './errors';
import { page } from './oauth-routes';

const startBody = RealmStart;

const apiError = (err: RealmError) => new ApiError(err.status, err.code, err.message, err.details);

export function realmApiRoutes(deps: RealmFlowDeps): Router {
  const router = Router();

  router.get('/api/org/realms', async (req, res) => {
    requireAdmin(req);
    const realms = await listRealms();
    res.json({
      realms: realms.map((r) => ({
        key: r._id,
        provider: r.provider,
        via: r.via,
        attachedAt: r.attachedAt,
        verifiedAs: r.verifiedAs,
      })),
    });
  });

  router.post('/api/org/realms/microsoft', async (req, res) => {
    const a = requireAdmin(req);
    const { loginHint } = startBody.parse(req.body ?? {});
    try {
      res.json({ authorizationUrl: await startMicrosoftRealm(deps, { userId: a.userId, orgId: a.orgId }, loginHint) });
    } catch (err) {
      throw err instanceof RealmError ? apiError(err) : err;
    }
  });
  return router;
}

export function realmCallbackRoutes(deps: RealmFlowDeps): Router {
  const router = Router();
  router.get('/oauth/microsoft/admin-callback', async (req, res) => {
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    const state = q('state');
    const code = q('code');
    res.setHeader('Cache-Control', 'no-store');
    const refused = (status: number, body: string) => res.status(status).type('html').send(page('Microsoft 365 tenant not added', body));
    if (q('error')) {
      await abandonMicrosoftRealm(state);
      return void refused(400, `${q('error') === 'access_denied' ? 'The sign-in was cancelled.' : `Microsoft answered: ${q('error')}.`} Nothing was changed.`);
    }
    if (!state || !code) return void refused(400, 'The link is incomplete. Start adding the tenant again from Threadline.');
    try {
      const done = await completeMicrosoftRealm(deps, { code, state });
      res
        .type('html')
        .send(
          page(
            'Microsoft 365 tenant added',
            `${done.alreadyAttached ? 'The tenant was already part of your organisation.' : 'Outlook users of this tenant now sign in to your organisation.'} (Verified as ${done.verifiedAs}, tenant ${done.tenantId}.)`,
          ),
        );
    } catch (err) {
      if (!(err instanceof RealmError)) throw err;
      refused(err.status, err.message);
    }
  });
  return router;
}
