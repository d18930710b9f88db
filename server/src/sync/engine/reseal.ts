/**
 * Key rotation finishes by itself: stored provider tokens sealed under an older TOKEN_ENCRYPTION_KEY are re-sealed
 * under the current one by the workers' upkeep sweep (scheduler.ts), a batch at a time. Once no mailbox holds a
 * token under an old key — `tokensUnderOldKeys` answers 0 — the old key can leave TOKEN_ENCRYPTION_OLD_KEYS
 * (docs/SECURITY.md, "Data at rest").
 *
 * Each write is a compare-and-set on the old ciphertext: a token refreshed meanwhile (already under the current key)
 * is never overwritten with an older value. A token that does not open (tampered, or its key already dropped) is
 * left as it is: the mailbox's next refresh fails closed and asks the user to reconnect.
 */
import mongoose, { type Types } from 'mongoose';
import type { SealedSecret, Vault } from '../../auth/vault';
import { runAsSystem } from '../../db/tenant';
import { Mailbox } from '../../models/mailbox';

const FIELDS = ['access', 'refresh'] as const;

const underOldKey = (vault: Vault) =>
  mongoose.trusted({
    $or: FIELDS.map((f) => ({ [`tokens.${f}.kid`]: mongoose.trusted({ $exists: true, $nin: [vault.currentKid, null] }) })),
  });

interface Sealed {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  tokens?: Partial<Record<(typeof FIELDS)[number], SealedSecret | null>>;
}

/** Re-seals up to `limit` mailboxes' tokens; returns how many tokens were re-sealed. */
export async function resealTokens(vault: Vault, limit = 100): Promise<number> {
  const docs = await runAsSystem('re-seal tokens', () => Mailbox.find(underOldKey(vault), { orgId: 1, tokens: 1 }).limit(limit).lean<Sealed[]>());
  let resealed = 0;
  for (const m of docs) {
    for (const field of FIELDS) {
      const sealed = m.tokens?.[field];
      if (!sealed || !vault.needsRotation(sealed)) continue;
      let fresh: SealedSecret;
      try {
        fresh = vault.rotate(sealed, { orgId: String(m.orgId), mailboxId: String(m._id), field });
      } catch {
        continue;
      }
      const res = await runAsSystem('re-seal tokens', () =>
        Mailbox.updateOne({ _id: m._id, [`tokens.${field}.ct`]: sealed.ct }, { $set: { [`tokens.${field}`]: fresh } }),
      );
      resealed += res.modifiedCount;
    }
  }
  return resealed;
}

/** How many mailboxes still hold a token under an old key (0: the old keys may be retired). */
export async function tokensUnderOldKeys(vault: Vault): Promise<number> {
  return runAsSystem('re-seal tokens', () => Mailbox.countDocuments(underOldKey(vault)));
}
