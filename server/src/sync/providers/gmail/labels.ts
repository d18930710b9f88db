/**
 * Gmail labels ↔ Threadline flags (docs/SYNC.md "State both ways"). Gmail keeps state as system labels on each message
 * (https://developers.google.com/gmail/api/guides/labels): UNREAD, STARRED, INBOX (archived = removed from
 * the inbox), TRASH. Pure functions, shared by the change source and the writer.
 */
import type { MessageFlags } from '../port';

export const UNREAD = 'UNREAD';
export const STARRED = 'STARRED';
export const INBOX = 'INBOX';
export const TRASH = 'TRASH';
export const SPAM = 'SPAM';
export const DRAFT = 'DRAFT';
export const SENT = 'SENT';

/** Messages outside sync scope: drafts are not mail yet, spam is excluded (docs/PROVIDERS.md "Microsoft Graph" for Graph's junk too). */
export const OUT_OF_SCOPE_LABELS: readonly string[] = [DRAFT, SPAM];

export const isOutOfScope = (labelIds: readonly string[]): boolean => labelIds.some((l) => OUT_OF_SCOPE_LABELS.includes(l));

/**
 * Flags of a message from its labels. A sent message never carries INBOX (unless sent to oneself), so "not in
 * the inbox" only means archived for mail that is not SENT — otherwise every sent message would look archived,
 * and un-archiving it from the CRM would drop it into the sender's inbox.
 */
export function flagsFromLabels(labelIds: readonly string[]): MessageFlags {
  const has = (id: string) => labelIds.includes(id);
  return {
    read: !has(UNREAD),
    starred: has(STARRED),
    archived: !has(INBOX) && !has(SENT),
    deleted: has(TRASH),
  };
}

/**
 * The flag changes a history `labelsAdded` / `labelsRemoved` entry means. Only the labels that changed are
 * looked at, so a flag is reported only when it really moved (UNREAD added → unread; INBOX removed → archived).
 */
export function flagsFromLabelChange(added: readonly string[], removed: readonly string[]): Partial<MessageFlags> {
  const flags: Partial<MessageFlags> = {};
  if (added.includes(UNREAD)) flags.read = false;
  if (removed.includes(UNREAD)) flags.read = true;
  if (added.includes(STARRED)) flags.starred = true;
  if (removed.includes(STARRED)) flags.starred = false;
  if (added.includes(INBOX)) flags.archived = false;
  if (removed.includes(INBOX)) flags.archived = true;
  if (added.includes(TRASH)) flags.deleted = true;
  if (removed.includes(TRASH)) flags.deleted = false;
  return flags;
}

export interface LabelEdit {
  addLabelIds: string[];
  removeLabelIds: string[];
}

/**
 * The messages.modify body for a CRM change: read → remove UNREAD, starred → add STARRED, archived → remove
 * INBOX, plus explicit label ids. `deleted` is not a label edit: trash/untrash have their own methods
 * (messages.modify may not be used to add TRASH reliably; users.messages.trash is the documented way).
 */
export function labelEditForChange(change: { flags?: Partial<Omit<MessageFlags, 'deleted'>>; labelsAdded?: string[]; labelsRemoved?: string[] }): LabelEdit {
  const add = new Set(change.labelsAdded ?? []);
  const remove = new Set(change.labelsRemoved ?? []);
  const set = (label: string, present: boolean | undefined) => {
    if (present === undefined) return;
    (present ? add : remove).add(label);
    (present ? remove : add).delete(label);
  };
  const flags = change.flags ?? {};
  set(UNREAD, flags.read === undefined ? undefined : !flags.read);
  set(STARRED, flags.starred);
  set(INBOX, flags.archived === undefined ? undefined : !flags.archived);
  return { addLabelIds: [...add], removeLabelIds: [...remove] };
}
