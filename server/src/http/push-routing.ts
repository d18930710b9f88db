/**
 * Which mailboxes a push is for — a Gmail push names an address, a Graph notification a subscription id — without
 * reading every mailbox each time: the embedded FerretDB reads a whole collection for any filter but `_id`, and
 * pushes arrive for every new message of every mailbox. The answer of the full look-up is remembered for a minute
 * per key; a remembered mailbox is read again by `_id` (one indexed read) and must still carry the key, so a
 * disconnected, reconnected or re-subscribed mailbox is looked up afresh at once. Nothing is remembered for a key
 * that matched no mailbox: a mailbox connected a moment ago is found on its first push.
 */
import type { Types } from 'mongoose';
import { runAsSystem } from '../db/tenant';
import { Mailbox } from '../models/mailbox';
import type { ProviderName } from '../sync/providers/port';

export interface RoutedMailbox {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  provider: string;
  address: string;
  push?: { channelId: string | null; clientState: string | null } | null;
}

/** A push's addressee at its provider: an address (Gmail) or a channel id (Graph's subscription id). */
export type PushKey = { provider: ProviderName; address: string } | { provider: ProviderName; channelId: string };

const REMEMBER_MS = 60_000;
const MAX_KEYS = 10_000;
/**
 * A key that matched no mailbox is not looked up again for this long: a made-up subscription id repeated in a flood
 * costs one look-up, not one per request. Real keys are never in it when they matter: a Graph subscription id is
 * Graph's own GUID, known to us from the moment the subscription is created (and its first notifications are only
 * for changes the run's read after creating it covers anyway).
 */
const MISS_MS = 30_000;
const FIELDS = { orgId: 1, provider: 1, address: 1, push: 1 } as const;

const carries = (m: RoutedMailbox, key: PushKey): boolean =>
  m.provider === key.provider && ('address' in key ? m.address === key.address : m.push?.channelId === key.channelId);

export class PushRouter {
  private readonly remembered = new Map<string, { ids: Types.ObjectId[]; at: number }>();
  private readonly missed = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async mailboxesFor(key: PushKey): Promise<RoutedMailbox[]> {
    const name = 'address' in key ? `${key.provider}:${key.address}` : `${key.provider}:${key.channelId}`;
    const missedAt = this.missed.get(name);
    if (missedAt !== undefined && this.now() - missedAt < MISS_MS) return [];
    const hit = this.remembered.get(name);
    if (hit && this.now() - hit.at < REMEMBER_MS) {
      const again = await Promise.all(hit.ids.map((id) => runAsSystem('push routing', () => Mailbox.findById(id).select(FIELDS).lean<RoutedMailbox>())));
      if (again.every((m) => m !== null && carries(m, key))) return again as RoutedMailbox[];
    }
    const found = await runAsSystem('push routing', () => Mailbox.find(
      'address' in key ? { provider: key.provider, address: key.address } : { provider: key.provider, 'push.channelId': key.channelId },
    ).select(FIELDS).lean<RoutedMailbox[]>());
    this.remembered.delete(name);
    this.missed.delete(name);
    if (found.length === 0 && 'channelId' in key) {
      this.missed.set(name, this.now());
      if (this.missed.size > MAX_KEYS) this.missed.delete(this.missed.keys().next().value!);
    }
    if (found.length > 0) {
      this.remembered.set(name, { ids: found.map((m) => m._id), at: this.now() });
      if (this.remembered.size > MAX_KEYS) this.remembered.delete(this.remembered.keys().next().value!);
    }
    return found;
  }
}
