/**
 * Change-notification hints, in process: which messages Graph said changed since the mailbox's last round.
 *
 * Graph has no mailbox-wide message delta, so a catch-up round reads a delta page of every synced folder (Inbox,
 * Sent Items, Archive, Deleted Items, user folders): four or more calls for one new message, where DESIGN.md §8 asks
 * for one. A change notification names the message (`resourceData.id`, an immutable id because the subscription is
 * created with `Prefer: IdType="ImmutableId"`), so the next round after a notification can GET just the notified
 * messages instead (change-source.ts) — one call per new message — while the poll sweep's full rounds keep catching
 * anything a notification missed (DESIGN.md §4.4: push is a hint). The id is not trusted data: it is only looked up
 * at Graph with the mailbox's own token, after the notification's clientState was checked.
 *
 * Hints live in the memory of the process that received the webhook and reach only a worker in that same process
 * (`npm start` runs both); a worker elsewhere never sees them and runs its full round, as without hints.
 */

export type GraphChangeType = 'created' | 'updated' | 'deleted';

export interface GraphChangeHint { id: string; changeType: GraphChangeType }

/** More notified messages than this before a round: read the folders' deltas instead (cheaper than many GETs). */
export const MAX_HINTED_MESSAGES = 20;

export class GraphChangeHints {
  private readonly byMailbox = new Map<string, { hints: Map<string, GraphChangeType>; overflow: boolean }>();

  add(mailboxId: string, hint: GraphChangeHint): void {
    let entry = this.byMailbox.get(mailboxId);
    if (!entry) this.byMailbox.set(mailboxId, (entry = { hints: new Map(), overflow: false }));
    if (entry.overflow) return;
    entry.hints.set(hint.id, hint.changeType);
    if (entry.hints.size > MAX_HINTED_MESSAGES) {
      entry.hints.clear();
      entry.overflow = true;
    }
  }

  /** The hints noted since the last take, or null when there are none or too many (then: a full round). */
  take(mailboxId: string): GraphChangeHint[] | null {
    const entry = this.byMailbox.get(mailboxId);
    this.byMailbox.delete(mailboxId);
    if (!entry || entry.overflow || entry.hints.size === 0) return null;
    return [...entry.hints].map(([id, changeType]) => ({ id, changeType }));
  }

  /** Hints may no longer be acted on (a full round is about to read everything anyway). */
  drop(mailboxId: string): void {
    this.byMailbox.delete(mailboxId);
  }
}
