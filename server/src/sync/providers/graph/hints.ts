/**
 * Change-notification hints, in process: which messages Graph said changed since the mailbox's last round.
 *
 * Graph has no mailbox-wide message delta, so a catch-up round reads a delta page of every synced folder (Inbox,
 * Sent Items, Archive, Deleted Items, user folders): four or more calls for one new message, where the push latency
 * target of docs/PERFORMANCE.md wants one. A change notification names the message (`resourceData.id`, an immutable
 * id because the subscription is created with `Prefer: IdType="ImmutableId"`), so the next round after a
 * notification can GET just the notified messages instead (change-source.ts) — one call per new message — while the
 * poll sweep's full rounds keep catching anything a notification missed (docs/SYNC.md "Push, polling and
 * reconciliation": push is a hint). The id is not trusted data: it is only looked up at Graph with the mailbox's own
 * token, after the notification's clientState was checked.
 *
 * The push receiver (push.ts) hands the id over with the notification; the server keeps hints in MongoDB beside
 * the mailbox's due-mark (engine/push-hints.ts), so a webhook received by one process reaches a worker in another.
 * GraphChangeHints below is the same store in memory, for tests.
 */
import { MAX_HINTED_MESSAGES, type PushHints } from '../port';

/**
 * Only the message ids are kept: whatever the notification's changeType, the round GETs the message and reports
 * what it finds (upsert, state change, or deleted when it is gone).
 */
export class GraphChangeHints implements PushHints {
  private readonly byMailbox = new Map<string, { ids: Set<string>; overflow: boolean }>();

  add(mailboxId: string, messageId: string): void {
    let entry = this.byMailbox.get(mailboxId);
    if (!entry) this.byMailbox.set(mailboxId, (entry = { ids: new Set(), overflow: false }));
    if (entry.overflow) return;
    entry.ids.add(messageId);
    if (entry.ids.size > MAX_HINTED_MESSAGES) {
      entry.ids.clear();
      entry.overflow = true;
    }
  }

  /** The messages noted since the last take, or null when there are none or too many (then: a full round). */
  async take(mailboxId: string): Promise<string[] | null> {
    const entry = this.byMailbox.get(mailboxId);
    this.byMailbox.delete(mailboxId);
    if (!entry || entry.overflow || entry.ids.size === 0) return null;
    return [...entry.ids];
  }
}
