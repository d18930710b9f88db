/**
 * The OAuth callbacks the providers redirect the browser to after consent (docs/SECURITY.md "Connecting a mailbox").
 */
import { Router } from 'express';
import type { Types } from 'mongoose';
import { runInOrg } from '../db/tenant';
import { abandonConnect, completeConnect, type ConnectDeps, ConnectError } from '../sync/control/connect';
import { PROVIDER_NAMES } from '../sync/providers/capabilities';
import type { ProviderName } from '../sync/providers/port';

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The small HTML page an OAuth callback answers the browser with. */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.4rem}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(body)}</p>
<p><a href="/app/#/mailboxes">Back to your mailboxes in Threadline</a></p></body></html>`;
}

export function oauthRoutes(deps: {
  connect: ConnectDeps;
  onConnected: (mailbox: { mailboxId: Types.ObjectId; orgId: Types.ObjectId }) => Promise<void>;
}): Router {
  const router = Router();
  router.get('/oauth/:provider/callback', async (req, res) => {
    const provider = req.params.provider as ProviderName;
    if (!PROVIDER_NAMES.includes(provider)) return void res.status(404).type('html').send(page('Not found', 'Unknown provider.'));
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    const state = q('state');
    const code = q('code');
    res.setHeader('Cache-Control', 'no-store');
    if (q('error')) {
      await abandonConnect(provider, state);
      const why = q('error') === 'access_denied' ? 'You declined the permission request.' : `The provider answered: ${q('error')}.`;
      return void res
        .status(400)
        .type('html')
        .send(page('Mailbox not connected', `${why} Nothing was stored. You can close this window and try again.`));
    }
    if (!state || !code)
      return void res.status(400).type('html').send(page('Mailbox not connected', 'The link is incomplete. Start connecting again from Threadline.'));
    try {
      const done = await completeConnect(deps.connect, provider, { code, state });
      await runInOrg(done.orgId, () => deps.onConnected(done));
      res.type('html').send(page('Mailbox connected', `${done.address} is connected. Threadline is importing its mail now; you can close this window.`));
    } catch (err) {
      if (!(err instanceof ConnectError)) throw err;
      res
        .status(err.code === 'address_taken' ? 409 : 400)
        .type('html')
        .send(page('Mailbox not connected', err.message));
    }
  });
  return router;
}
