/**
 * "Never log this sender" from a sidebar (docs/sidebars.md): one address added to, or taken off, the caller's own
 * `excludedAddresses`. Unlike `PUT /api/me/settings`, the answer does not wait for the sender's past mail to leave
 * the CRM: on a large mailbox that removal can outlast an add-on's action limit (Gmail gives a card action about
 * 30 s), so it runs after the answer. The answer says until when the sidebar offers "Undo"; undoing lifts the
 * rule through the same code as a settings change, which schedules a re-import of what was removed.
 */
import { Router } from 'express';
import { SenderExclusionRequest } from '@threadline/shared/src/api/privacy';
import { AuditLog } from '../models/audit';
import { User } from '../models/user';
import { normaliseAddress } from '../mail/address';
import { applyUserRulesChange } from '../sync/rules/settings-apply';
import { auth } from './context';
import { badRequest } from './errors';
import { orgSettings, userSettings } from './settings-routes';

/** How long a sidebar offers to undo: long enough to notice a misclick, short enough not to clutter the card. */
export const UNDO_WINDOW_SECONDS = 600;

const body = SenderExclusionRequest;

function address(raw: string): string {
  const email = normaliseAddress(raw);
  if (!email) throw badRequest(`"${raw.slice(0, 100)}" is not an email address`, { field: 'email' });
  return email;
}

export interface SenderExclusionDeps {
  /** A background removal that failed: the rule stands (new mail is not logged), the past mail is removed on the next settings change. */
  onBackgroundError(err: unknown): void;
}

export function senderExclusionRoutes(deps: SenderExclusionDeps): Router {
  const router = Router();

  /** Adds (or lifts) one address atomically, then applies the change after the answer. */
  async function change(userId: Parameters<typeof userSettings>[0], email: string, exclude: boolean) {
    const before = await userSettings(userId);
    const had = before.excludedAddresses.includes(email);
    if (had === exclude) return { changed: false };
    await User.updateOne(
      { _id: userId },
      exclude ? { $addToSet: { 'settings.excludedAddresses': email } } : { $pull: { 'settings.excludedAddresses': email } },
    );
    const after = { ...before, excludedAddresses: exclude ? [...before.excludedAddresses, email] : before.excludedAddresses.filter((a) => a !== email) };
    // Not awaited: the request's tenant context carries over into the promise chain.
    void (async () => {
      const { domains } = await orgSettings();
      const result = await applyUserRulesChange(userId, before, after, domains);
      await AuditLog.create({ actorId: userId, action: exclude ? 'settings.user.exclude_sender' : 'settings.user.allow_sender', detail: result });
    })().catch(deps.onBackgroundError);
    return { changed: true };
  }

  router.post('/api/me/excluded-senders', async (req, res) => {
    const a = auth(req);
    const email = address(body.parse(req.body).email);
    const { changed } = await change(a.userId, email, true);
    res.status(202).json({ email, changed, undoUntil: new Date(Date.now() + UNDO_WINDOW_SECONDS * 1000).toISOString() });
  });

  router.delete('/api/me/excluded-senders/:email', async (req, res) => {
    const a = auth(req);
    const email = address(String(req.params.email));
    const { changed } = await change(a.userId, email, false);
    res.status(200).json({ email, changed });
  });

  return router;
}
