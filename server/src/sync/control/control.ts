/**
 * What the HTTP layer may ask of sync: schedule a mailbox now (push, connect), schedule a full re-read
 * (resync), and disconnect. It only writes to MongoDB (and, on disconnect, tells the provider); the
 * workers do the syncing, wherever they run. When workers run in this process, they are woken at once.
 */
import type { Types } from 'mongoose';
import type { Vault } from '../../auth/vault';
import type { Logger } from '../../logger';
import { Mailbox } from '../../models/mailbox';
import { removeMailboxData } from './disconnect';
import { markDue, requestResync } from '../engine/scheduler';
import type { ProviderName } from '../providers/port';
import type { Providers } from '../providers/registry';
import type { MailboxAdapters } from '../providers/runtime';

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
  /** `hints`: the messages push notifications named, kept with the due-mark for the round (engine/push-hints.ts). */
  markDue(mailboxId: Types.ObjectId, hints?: readonly string[]): Promise<void>;
  resync(mailboxId: Types.ObjectId): Promise<void>;
  disconnect(mailboxId: Types.ObjectId): Promise<void>;
  /**
   * Workers started in this process register their own markDue here (which also wakes their loop), so a due
   * mailbox does not wait for their next look.
   */
  onDue(markDueAndWake: (mailboxId: Types.ObjectId, hints?: readonly string[]) => Promise<void>): void;
}

export function createSyncControl(deps: { vault: Vault; providers: Providers; adapters: MailboxAdapters; log: Logger }): SyncControl {
  let due: (mailboxId: Types.ObjectId, hints?: readonly string[]) => Promise<void> = (id, hints) => markDue(id, new Date(), hints);
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
    onDue(fn) {
      due = fn;
    },

    async markDue(mailboxId, hints) {
      await due(mailboxId, hints);
    },

    async resync(mailboxId) {
      await requestResync(mailboxId);
      await due(mailboxId);
    },

    async disconnect(mailboxId) {
      const m = await Mailbox.findById(mailboxId).lean<StoredMailbox>();
      if (!m) return;
      // Best effort on the provider side: a Gmail watch lapses within 7 days and a Graph subscription within
      // its lifetime anyway, and the user can withdraw the grant in their account; what we hold goes regardless.
      if (m.push?.expiresAt) {
        try {
          const adapter = deps.adapters.forMailbox(m);
          await adapter.push?.stop({ channelId: m.push.channelId, clientState: m.push.clientState, expiresAt: m.push.expiresAt });
        } catch (err) {
          deps.log.warn({ mailboxId: String(m._id), err: (err as Error).message }, 'stopping push failed');
        }
      }
      const oauth = deps.providers.oauth[m.provider];
      for (const token of [open(m, 'refresh'), open(m, 'access')]) {
        if (token && oauth)
          await oauth.revoke(token).catch((err: Error) => deps.log.warn({ mailboxId: String(m._id), err: err.message }, 'revoking a token failed'));
      }
      await removeMailboxData(m._id, m.userId);
    },
  };
}
