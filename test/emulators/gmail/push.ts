/**
 * users.watch and the Pub/Sub push that follows a mailbox change.
 *
 * Gmail publishes `{"emailAddress","historyId"}` to the watched topic, at most one notification per second per
 * user; extras are dropped (https://developers.google.com/gmail/api/guides/push#notification_rate). Pub/Sub then
 * POSTs `{"message":{"data","messageId","publishTime"},"subscription"}` with an OIDC bearer token
 * (https://cloud.google.com/pubsub/docs/push). Switches make the delivery lossy, duplicated, late or unordered,
 * which real Pub/Sub may be, so the engine's tolerance can be tested.
 */
import { createRng } from '../common/faults';
import type { HistoryRecord, Mailbox } from './store';

export interface Watch {
  topicName: string;
  labelIds: string[];
  labelFilterAction: 'include' | 'exclude';
  expiration: number;
}

export interface PushSettings {
  /** Push endpoint; unset: notifications are recorded but not delivered. */
  url?: string;
  /** `aud` of the OIDC token; default: the push URL (Pub/Sub's default). */
  audience?: string;
  serviceAccountEmail?: string;
  subscription?: string;
  /** 'drop' (Gmail's documented behaviour), 'coalesce' (one trailing push with the latest id) or 'off'. */
  rateLimit?: 'drop' | 'coalesce' | 'off';
  dropRate?: number;
  duplicateRate?: number;
  delayMs?: number;
  /** Each push is held for a random 0..reorderWindowMs, so pushes can overtake each other. */
  reorderWindowMs?: number;
  seed?: number;
}

export interface PushDelivery {
  emailAddress: string;
  historyId: number;
  messageId: string;
  /** What happened: delivered (with the endpoint's status), or why it was not sent. */
  outcome: 'delivered' | 'failed' | 'dropped-rate' | 'dropped-switch' | 'no-target';
  status?: number;
  error?: string;
  duplicate?: boolean;
  at: number;
}

const WATCH_DAYS_MS = 7 * 24 * 60 * 60 * 1000;

export class PushChannel {
  private watches = new Map<string, Watch>();
  private settings: PushSettings = {};
  private rng = createRng(0);
  private lastSentAt = new Map<string, number>();
  private trailing = new Map<string, ReturnType<typeof setTimeout>>();
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private log: PushDelivery[] = [];
  private nextMessageId = 9_000_000_000_000;

  constructor(
    private readonly mintToken: (audience: string, serviceAccountEmail: string) => Promise<string>,
    private readonly fetchImpl: typeof fetch,
  ) {}

  configure(settings: PushSettings): void {
    this.settings = { ...this.settings, ...settings };
    if (settings.seed !== undefined) this.rng = createRng(settings.seed);
  }

  watch(mailbox: Mailbox, request: { topicName: string; labelIds?: string[]; labelFilterAction?: string; labelFilterBehavior?: string }): Watch {
    const action = (request.labelFilterBehavior ?? request.labelFilterAction ?? 'include').toLowerCase();
    const watch: Watch = {
      topicName: request.topicName,
      labelIds: request.labelIds ?? [],
      labelFilterAction: action === 'exclude' ? 'exclude' : 'include',
      expiration: Date.now() + WATCH_DAYS_MS,
    };
    this.watches.set(mailbox.email, watch);
    return watch;
  }

  stop(email: string): void {
    this.watches.delete(email);
  }

  watchOf(email: string): Watch | undefined {
    return this.watches.get(email);
  }

  /** Makes a watch lapse, as when the engine forgot to renew it within 7 days. */
  expireWatch(email: string): void {
    const watch = this.watches.get(email);
    if (watch) watch.expiration = Date.now() - 1;
  }

  deliveries(): PushDelivery[] {
    return this.log.map((d) => ({ ...d }));
  }

  /**
   * Called for every history record of every mailbox, as it is written: only a mailbox watched at that moment is
   * pushed (changes before users.watch never are: https://developers.google.com/gmail/api/guides/push), and at once,
   * whatever the mailbox's client is reading meanwhile.
   */
  onHistory(mailbox: Mailbox, record: HistoryRecord): void {
    const watch = this.watches.get(mailbox.email);
    if (!watch || watch.expiration <= Date.now() || !this.passesFilter(watch, record)) return;
    const now = Date.now();
    const last = this.lastSentAt.get(mailbox.email) ?? 0;
    const mode = this.settings.rateLimit ?? 'drop';
    if (mode !== 'off' && now - last < 1000) {
      if (mode === 'drop') return void this.note(mailbox.email, mailbox.historyId, 'dropped-rate');
      if (!this.trailing.has(mailbox.email)) {
        const timer = setTimeout(
          () => {
            this.trailing.delete(mailbox.email);
            this.lastSentAt.set(mailbox.email, Date.now());
            this.publish(mailbox.email, mailbox.historyId);
          },
          last + 1000 - now,
        );
        this.trailing.set(mailbox.email, timer);
      }
      return;
    }
    this.lastSentAt.set(mailbox.email, now);
    this.publish(mailbox.email, mailbox.historyId);
  }

  close(): void {
    for (const timer of [...this.timers, ...this.trailing.values()]) clearTimeout(timer);
    this.timers.clear();
    this.trailing.clear();
  }

  private passesFilter(watch: Watch, record: HistoryRecord): boolean {
    if (watch.labelIds.length === 0) return true;
    const labels = new Set<string>();
    const entries: Array<{ message: { labelIds: string[] }; labelIds?: string[] }> = [
      ...(record.messagesAdded ?? []),
      ...(record.messagesDeleted ?? []),
      ...(record.labelsAdded ?? []),
      ...(record.labelsRemoved ?? []),
    ];
    for (const entry of entries) [...entry.message.labelIds, ...(entry.labelIds ?? [])].forEach((l) => labels.add(l));
    const hit = watch.labelIds.some((l) => labels.has(l));
    return watch.labelFilterAction === 'include' ? hit : !hit;
  }

  private note(emailAddress: string, historyId: number, outcome: PushDelivery['outcome'], extra: Partial<PushDelivery> = {}): PushDelivery {
    const entry: PushDelivery = { emailAddress, historyId, messageId: '', outcome, at: Date.now(), ...extra };
    this.log.push(entry);
    return entry;
  }

  private publish(emailAddress: string, historyId: number): void {
    const messageId = String(this.nextMessageId++);
    if (!this.settings.url) return void this.note(emailAddress, historyId, 'no-target', { messageId });
    if (this.rng() < (this.settings.dropRate ?? 0)) return void this.note(emailAddress, historyId, 'dropped-switch', { messageId });
    const copies = this.rng() < (this.settings.duplicateRate ?? 0) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      const holdMs = (this.settings.delayMs ?? 0) + Math.floor(this.rng() * (this.settings.reorderWindowMs ?? 0));
      const send = () => void this.deliver(emailAddress, historyId, messageId, copy > 0);
      if (holdMs <= 0) send();
      else {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          send();
        }, holdMs);
        this.timers.add(timer);
      }
    }
  }

  private async deliver(emailAddress: string, historyId: number, messageId: string, duplicate: boolean): Promise<void> {
    const url = this.settings.url!;
    const publishTime = new Date().toISOString();
    // Gmail sends historyId as a number in the JSON it publishes; consumers must also accept strings.
    const data = Buffer.from(JSON.stringify({ emailAddress, historyId })).toString('base64');
    const body = {
      // Pub/Sub sends both spellings of these fields.
      message: { data, messageId, message_id: messageId, publishTime, publish_time: publishTime, attributes: {} },
      subscription: this.settings.subscription ?? 'projects/threadline-test/subscriptions/gmail-push',
    };
    const entry = this.note(emailAddress, historyId, 'delivered', { messageId, duplicate: duplicate || undefined });
    try {
      const token = await this.mintToken(
        this.settings.audience ?? url,
        this.settings.serviceAccountEmail ?? 'gmail-push@threadline-test.iam.gserviceaccount.com',
      );
      const response = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      entry.status = response.status;
      await response.arrayBuffer();
      if (response.status >= 300) entry.outcome = 'failed';
    } catch (err) {
      entry.outcome = 'failed';
      entry.error = (err as Error).message;
    }
  }
}
