/**
 * What the HTTP layer may ask of sync: schedule a mailbox now (push, connect), schedule a full re-read
 * (resync), and disconnect. It only writes to MongoDB (and, on disconnect, tells the provider); the
 * workers do the syncing, wherever they run.
 */
import { Types } from 'mongoose';
import type { Vault } from '../auth/vault';
import type { Logger } from '../logger';
import { Mailbox } from '../models/mailbox';
import { removeMailboxData } from './disconnect';
import type { AccessTokenSource, OAuthClient, ProviderName } from './providers/port';
import type { Providers } from './providers/registry';

interface StoredMailbox {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  userId: Types.ObjectId;
  provider: ProviderName;
  address: string;
  tokens?: { access?: Parameters<Vault['open']>[0] | null; refresh?: Parameters<Vault['open']>[0] | null };
  push?: { channelId: string | null; clientState: string | null; expiresAt: Date | null };
}

export interface SyncControl {
  markDue(mailboxId: Types.ObjectId): Promise<void>;
  resync(mailboxId: Types.ObjectId): Promise<void>;
  disconnect(mailboxId: Types.ObjectId): Promise<void>;
}

export function createSyncControl(deps: { vault: Vault; providers: Providers; log: Logger }): SyncControl {
  const open = (m: StoredMailbox, field: 'access' | 'refresh'): string | null => {
    const sealed = m.tokens?.[field];
    if (!sealed) return null;
    try {
      return deps.vault.open(sealed, { orgId: String(m.orgId), mailboxId: String(m._id), field });
    } catch {
      return null; // fail closed: an undecryptable token is as good as none
    }
  };

  return {
    async markDue(mailboxId) {
      // Coalesced: however many pushes arrive, the mailbox is simply due now.
      await Mailbox.updateOne({ _id: mailboxId }, { $set: { nextRunAt: new Date() } });
    },

    async resync(mailboxId) {
      await Mailbox.updateOne({ _id: mailboxId }, {
        $set: { nextRunAt: new Date(), backoffUntil: null, failures: 0, reconcileRequestedAt: new Date() },
      });
    },

    async disconnect(mailboxId) {
      const m = await Mailbox.findById(mailboxId).lean<StoredMailbox>();
      if (!m) return;
      const oauth: OAuthClient | undefined = deps.providers.oauth[m.provider];
      const access = open(m, 'access');
      // Best effort on the provider side: a Gmail watch lapses within 7 days and a Graph subscription within
      // its lifetime anyway, and the user can withdraw the grant in their account; what we hold goes regardless.
      if (m.push?.channelId !== undefined && m.push?.expiresAt && access) {
        const tokens: AccessTokenSource = { accessToken: async () => access, invalidate: () => {} };
        const adapter = deps.providers.adapterFor({ id: String(m._id), orgId: String(m.orgId), provider: m.provider, address: m.address }, tokens);
        await adapter.push?.stop({ channelId: m.push.channelId, clientState: m.push.clientState, expiresAt: m.push.expiresAt })
          .catch((err: Error) => deps.log.warn({ mailboxId: String(m._id), err: err.message }, 'stopping push failed'));
      }
      const refresh = open(m, 'refresh');
      for (const token of [refresh, access]) {
        if (token && oauth) await oauth.revoke(token).catch((err: Error) => deps.log.warn({ mailboxId: String(m._id), err: err.message }, 'revoking a token failed'));
      }
      await removeMailboxData(m._id, m.userId);
    },
  };
}
