/**
 * State both ways (docs/SYNC.md) as pure functions over one mailbox copy: the provider's changes against the CRM's
 * pending writes, with per-field change times.
 *
 * - A CRM write sets the field at once and leaves a pending entry `{field, value, at}` (`read`, `starred`,
 *   `archived`, `deleted`, or `label:<name>` with true/false) until the provider echoes it.
 * - A provider change equal to a pending entry is that echo: the entry is cleared and nothing else happens.
 * - A provider change that disagrees with a pending entry: the later one wins — the provider's if it changed after
 *   the CRM write (the entry is dropped), else the CRM's (the change is ignored and the entry waits for its echo).
 * - Without a pending entry, a change older than the field's last recorded change is stale and ignored.
 */
import type { MessageFlags } from '../providers/port';

export type FlagField = keyof MessageFlags;
export const FLAG_FIELDS: readonly FlagField[] = ['read', 'starred', 'archived', 'deleted'];

export interface PendingWrite {
  field: string;
  value: unknown;
  at: Date;
}

export interface CopyState {
  state: MessageFlags;
  stateChangedAt: Partial<Record<FlagField, Date>>;
  labels: string[];
  folderId: string | null;
  pending: PendingWrite[];
}

export interface StateChange {
  flags?: Partial<MessageFlags>;
  labelsAdded?: string[];
  labelsRemoved?: string[];
  folderId?: string;
}

export interface MergeOutcome {
  next: CopyState;
  /** Fields whose value changed because of the provider. */
  changed: string[];
  /** Pending CRM writes the provider confirmed. */
  echoes: number;
  /** Provider values dropped because a later CRM write or a later recorded change wins. */
  ignored: number;
}

const labelField = (label: string): string => `label:${label}`;

/** The provider says `field` is now `value`, as of `changedAt`. */
function decide(
  pending: PendingWrite[],
  field: string,
  value: boolean,
  lastChange: Date | undefined,
  changedAt: Date,
): { apply: boolean; echo: boolean; pending: PendingWrite[] } {
  const entry = pending.find((p) => p.field === field);
  if (entry) {
    const rest = pending.filter((p) => p !== entry);
    if (entry.value === value) return { apply: false, echo: true, pending: rest };
    if (changedAt.getTime() > entry.at.getTime()) return { apply: true, echo: false, pending: rest };
    return { apply: false, echo: false, pending };
  }
  if (lastChange && changedAt.getTime() < lastChange.getTime()) return { apply: false, echo: false, pending };
  return { apply: true, echo: false, pending };
}

export function mergeProviderChange(copy: CopyState, change: StateChange, changedAt: Date): MergeOutcome {
  const next: CopyState = {
    state: { ...copy.state },
    stateChangedAt: { ...copy.stateChangedAt },
    labels: [...copy.labels],
    folderId: copy.folderId,
    pending: [...copy.pending],
  };
  const out: MergeOutcome = { next, changed: [], echoes: 0, ignored: 0 };

  for (const field of FLAG_FIELDS) {
    const value = change.flags?.[field];
    if (value === undefined) continue;
    const d = decide(next.pending, field, value, next.stateChangedAt[field], changedAt);
    next.pending = d.pending;
    if (d.echo) out.echoes += 1;
    else if (!d.apply) out.ignored += 1;
    else if (next.state[field] !== value) {
      next.state[field] = value;
      next.stateChangedAt[field] = changedAt;
      out.changed.push(field);
    }
  }

  const labelEdits: [string, boolean][] = [
    ...(change.labelsAdded ?? []).map((l): [string, boolean] => [l, true]),
    ...(change.labelsRemoved ?? []).map((l): [string, boolean] => [l, false]),
  ];
  for (const [label, present] of labelEdits) {
    // Labels carry no per-label change time: only a pending CRM write can outrank the provider.
    const d = decide(next.pending, labelField(label), present, undefined, changedAt);
    next.pending = d.pending;
    if (d.echo) out.echoes += 1;
    else if (!d.apply) out.ignored += 1;
    else if (next.labels.includes(label) !== present) {
      next.labels = present ? [...next.labels, label] : next.labels.filter((l) => l !== label);
      out.changed.push(labelField(label));
    }
  }

  if (change.folderId !== undefined && change.folderId !== next.folderId) {
    next.folderId = change.folderId;
    out.changed.push('folderId');
  }
  return out;
}

/**
 * What a provider upsert of an existing copy means as a change: its full flags and label set, compared with what
 * is stored (so a re-fetch during reconciliation goes through the same echo and later-wins rules).
 */
export function changeFromSnapshot(copy: CopyState, flags: MessageFlags, labels: string[], folderId: string | null): StateChange {
  return {
    flags,
    labelsAdded: labels.filter((l) => !copy.labels.includes(l)),
    labelsRemoved: copy.labels.filter((l) => !labels.includes(l)),
    ...(folderId !== null ? { folderId } : {}),
  };
}

/**
 * A CRM-side write (PATCH /api/messages/:id): the new state at once, and the pending entries that will recognise the
 * provider's echo. The outbound stage calls this, then writes through to the provider.
 */
export function applyCrmWrite(copy: CopyState, change: StateChange, at: Date): CopyState {
  const next: CopyState = {
    state: { ...copy.state },
    stateChangedAt: { ...copy.stateChangedAt },
    labels: [...copy.labels],
    folderId: copy.folderId,
    pending: [...copy.pending],
  };
  const setPending = (field: string, value: boolean) => {
    next.pending = [...next.pending.filter((p) => p.field !== field), { field, value, at }];
  };
  for (const field of FLAG_FIELDS) {
    const value = change.flags?.[field];
    if (value === undefined) continue;
    next.state[field] = value;
    next.stateChangedAt[field] = at;
    setPending(field, value);
  }
  for (const l of change.labelsAdded ?? []) {
    if (!next.labels.includes(l)) next.labels.push(l);
    setPending(labelField(l), true);
  }
  for (const l of change.labelsRemoved ?? []) {
    next.labels = next.labels.filter((x) => x !== l);
    setPending(labelField(l), false);
  }
  return next;
}
