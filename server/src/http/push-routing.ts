/**
 * Which mailboxes a push is for — a Gmail push names an address, a Graph notification a subscription id — without
 * reading every mailbox each time: the embedded FerretDB reads a whole collection for any filter but `_id`, and
 * pushes arrive for every new message of every mailbox. So a key not known here is looked up together with every
 * other: one read of every mailbox's keys (begun after the push arrived, and shared by the pushes that wait for it)
 * answers the pushes of every mailbox for a minute. A remembered mailbox is read again by `_id` (one indexed read)
 * and must still carry the key, so a disconnected, reconnected or re-subscribed mailbox is looked up afresh at once.
 * Nothing is remembered for a key that matched no mailbox: a mailbox connected a moment ago is found on its first
 * push. Past MAX_KEYS mailboxes the keys are looked up one at a time (an indexed query on MongoDB).
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

type Loaded = Map<string, RoutedMailbox[]>;

const nameOf = (key: PushKey): string => ('address' in key ? `${key.provider} address ${key.address}` : `${key.provider} channel ${key.channelId}`);

export class PushRouter {
  private readonly remembered = new Map<string, { ids: Types.ObjectId[]; at: number }>();
  private readonly missed = new Map<string, number>();
  /** The read of every mailbox's keys in flight, and when it began. */
  private loading: { startedAt: number; done: Promise<Loaded | null> } | null = null;
  /** Set once a read found more than MAX_KEYS mailboxes: from then on each key is looked up alone. */
  private oneByOne = false;

  constructor(private readonly now: () => number = Date.now) {}

  async mailboxesFor(key: PushKey): Promise<RoutedMailbox[]> {
    const name = nameOf(key);
    const missedAt = this.missed.get(name);
    if (missedAt !== undefined && this.now() - missedAt < MISS_MS) return [];
    const hit = this.remembered.get(name);
    if (hit && this.now() - hit.at < REMEMBER_MS) {
      const again = await Promise.all(hit.ids.map((id) => runAsSystem('push routing', () => Mailbox.findById(id).select(FIELDS).lean<RoutedMailbox>())));
      if (again.every((m) => m !== null && carries(m, key))) return again as RoutedMailbox[];
    }
    const askedAt = this.now();
    // A read already under way answers the key if it finds it; one that began before this push and did not find it
    // may have missed a mailbox connected since, so a read begun after it decides.
    const under = this.oneByOne ? null : await this.loading?.done.catch(() => null);
    let found = under?.get(name);
    if (!found) {
      const all = this.oneByOne ? null : await this.loadAll(askedAt);
      found = all ? (all.get(name) ?? []) : await this.lookUp(key, askedAt);
    }
    if (found.length === 0 && 'channelId' in key) {
      this.missed.set(name, this.now());
      if (this.missed.size > MAX_KEYS) this.missed.delete(this.missed.keys().next().value!);
    }
    return found;
  }

  /** Every mailbox by key, read once for the pushes asked at or before `askedAt`; null past MAX_KEYS mailboxes. */
  private async loadAll(askedAt: number): Promise<Loaded | null> {
    if (!this.loading || this.loading.startedAt < askedAt) {
      const startedAt = this.now();
      const done = runAsSystem('push routing', () => Mailbox.find({}).select(FIELDS).lean<RoutedMailbox[]>()).then((docs) => {
        if (docs.length > MAX_KEYS) {
          this.oneByOne = true;
          return null;
        }
        const loaded: Loaded = new Map();
        for (const m of docs) {
          const provider = m.provider as ProviderName;
          const keys: PushKey[] = [{ provider, address: m.address }, ...(m.push?.channelId ? [{ provider, channelId: m.push.channelId }] : [])];
          for (const key of keys) loaded.set(nameOf(key), [...(loaded.get(nameOf(key)) ?? []), m]);
        }
        this.remembered.clear();
        for (const [name, ms] of loaded) this.remembered.set(name, { ids: ms.map((m) => m._id), at: startedAt });
        for (const name of loaded.keys()) this.missed.delete(name);
        return loaded;
      });
      this.loading = { startedAt, done };
      done
        .catch(() => undefined)
        .finally(() => {
          if (this.loading?.done === done) this.loading = null;
        });
    }
    return this.loading.done;
  }

  private async lookUp(key: PushKey, askedAt: number): Promise<RoutedMailbox[]> {
    const name = nameOf(key);
    const found = await runAsSystem('push routing', () =>
      Mailbox.find('address' in key ? { provider: key.provider, address: key.address } : { provider: key.provider, 'push.channelId': key.channelId })
        .select(FIELDS)
        .lean<RoutedMailbox[]>(),
    );
    this.remembered.delete(name);
    this.missed.delete(name);
    if (found.length > 0) {
      this.remembered.set(name, { ids: found.map((m) => m._id), at: askedAt });
      if (this.remembered.size > MAX_KEYS) this.remembered.delete(this.remembered.keys().next().value!);
    }
    return found;
  }
}
