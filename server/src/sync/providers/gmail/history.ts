/**
 * One page of users.history.list → what the canonical SyncPage needs: ids to fetch (new mail), ids gone, and
 * state changes of copies the engine already has. Pure; the change source does the fetching.
 *
 * Gmail facts (https://developers.google.com/gmail/api/guides/sync, docs/PROVIDERS.md "Gmail"): records come oldest first;
 * trash is `labelsAdded: [TRASH]` and stays a state change; `messagesDeleted` is a permanent delete; a message
 * can appear several times in one page (added, then starred, then deleted), so the records are folded per
 * message in order and only the net outcome is reported.
 */
import type { gmail_v1 } from '@googleapis/gmail';
import type { MessageFlags, RemoteStateChange } from '../port';
import { DRAFT, flagsFromLabelChange, isOutOfScope, SPAM } from './labels';

export interface HistoryPlan {
  /** New (or back-in-scope) messages to fetch and upsert, in history order. */
  fetch: string[];
  /** Gone from the mailbox or from sync scope (moved to spam). */
  deletes: string[];
  stateChanges: RemoteStateChange[];
}

type Fate =
  | { kind: 'fetch' }
  | { kind: 'delete'; permanent: boolean }
  | { kind: 'ignore' }
  | { kind: 'change'; flags: Partial<MessageFlags>; added: Set<string>; removed: Set<string> };

const labelsOf = (message: gmail_v1.Schema$Message | undefined): string[] => message?.labelIds ?? [];

export function planHistory(records: readonly gmail_v1.Schema$History[]): HistoryPlan {
  // Map keeps first-seen order, so upserts come out in the order the mail arrived.
  const fates = new Map<string, Fate>();
  const set = (id: string, fate: Fate) => {
    const current = fates.get(id);
    if (current?.kind === 'delete' && current.permanent) return; // nothing comes back from a permanent delete
    fates.set(id, fate);
  };

  const onLabels = (message: gmail_v1.Schema$Message | undefined, added: string[], removed: string[]) => {
    const id = message?.id;
    if (!id) return;
    const current = fates.get(id);
    if (current?.kind === 'delete' && current.permanent) return;
    const labels = labelsOf(message);
    if (added.includes(SPAM)) return set(id, { kind: 'delete', permanent: false });
    if (isOutOfScope(labels)) return; // a draft or spam message being edited: not ours
    if (removed.includes(SPAM) || removed.includes(DRAFT)) return set(id, { kind: 'fetch' });
    // A message fetched later in this round carries its current labels already.
    if (current?.kind === 'fetch') return;
    const change: Fate = current?.kind === 'change' ? current : { kind: 'change', flags: {}, added: new Set(), removed: new Set() };
    Object.assign(change.flags, flagsFromLabelChange(added, removed));
    for (const label of added) {
      change.added.add(label);
      change.removed.delete(label);
    }
    for (const label of removed) {
      change.removed.add(label);
      change.added.delete(label);
    }
    set(id, change);
  };

  for (const record of records) {
    for (const { message } of record.messagesAdded ?? []) {
      if (!message?.id) continue;
      set(message.id, isOutOfScope(labelsOf(message)) ? { kind: 'ignore' } : { kind: 'fetch' });
    }
    for (const entry of record.labelsAdded ?? []) onLabels(entry.message, entry.labelIds ?? [], []);
    for (const entry of record.labelsRemoved ?? []) onLabels(entry.message, [], entry.labelIds ?? []);
    for (const { message } of record.messagesDeleted ?? []) {
      if (message?.id) set(message.id, { kind: 'delete', permanent: true });
    }
  }

  const plan: HistoryPlan = { fetch: [], deletes: [], stateChanges: [] };
  for (const [id, fate] of fates) {
    if (fate.kind === 'fetch') plan.fetch.push(id);
    else if (fate.kind === 'delete') plan.deletes.push(id);
    else if (fate.kind === 'change') {
      plan.stateChanges.push({
        providerMessageId: id,
        ...(Object.keys(fate.flags).length ? { flags: fate.flags } : {}),
        ...(fate.added.size ? { labelsAdded: [...fate.added] } : {}),
        ...(fate.removed.size ? { labelsRemoved: [...fate.removed] } : {}),
      });
    }
  }
  return plan;
}
