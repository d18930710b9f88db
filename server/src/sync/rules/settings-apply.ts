/**
 * Privacy settings applied retroactively (docs/SYNC.md "Privacy first"). Tightened rules remove the matching stored
 * mail at once, judged by the same evaluator ingest uses (ingest/privacy.ts), so "would not be stored now" and "is
 * removed now" never disagree: the message documents (body, subject, participants), their copies, cached attachment
 * bytes and threads left empty. A user's rules only reach the copies of that user's mailboxes; the message goes when no
 * other copy remains. Loosened rules schedule a re-import instead: the affected mailboxes are marked for a
 * reconciliation, which re-fetches what is missing. Visibility changes need nothing here: reads compute it.
 */
import mongoose, { Types } from 'mongoose';
import { Contact } from '../../models/crm';
import { Mailbox } from '../../models/mailbox';
import { MailboxMessage } from '../../models/mailbox-message';
import { Message } from '../../models/message';
import { escapeRegex } from '../../crm/contacts';
import type { Holding } from '../../crm/visibility';
import { signalDue } from '../engine/scheduler';
import { removeCopies, removeMessages } from '../ingest/removal';
import { evaluatePrivacy, mergeRules, NO_RULES, type MergedPrivacyRules, type PrivacyDecision, type PrivacyRules } from '../ingest/privacy';

const BATCH = 500;

/** The exclusion lists and switches a change is judged on (org settings.sync, or a user's settings). */
export type RuleSet = Pick<PrivacyRules, 'excludedDomains' | 'excludedAddresses' | 'excludedLabels'> &
  Partial<Pick<PrivacyRules, 'excludeInternal' | 'onlyKnownContacts'>>;

export interface RuleChange {
  /** Only the rules that are new: what must be removed now (everything else was enforced already). */
  tightened: MergedPrivacyRules;
  /** True when anything was dropped or switched off: mail once excluded may now be imported. */
  loosened: boolean;
}

/** Pure: what a settings change adds and whether it lifts anything, on normalised values. */
export function diffRules(before: RuleSet, after: RuleSet): RuleChange {
  const b = mergeRules({ ...NO_RULES, ...before });
  const a = mergeRules({ ...NO_RULES, ...after });
  const added = (k: 'excludedDomains' | 'excludedAddresses' | 'excludedLabels') => a[k].filter((r) => !b[k].some((x) => x.value === r.value));
  const dropped = (k: 'excludedDomains' | 'excludedAddresses' | 'excludedLabels') => b[k].some((r) => !a[k].some((x) => x.value === r.value));
  return {
    tightened: {
      excludedDomains: added('excludedDomains'),
      excludedAddresses: added('excludedAddresses'),
      excludedLabels: added('excludedLabels'),
      excludeInternal: a.excludeInternal && !b.excludeInternal ? a.excludeInternal : false,
      onlyKnownContacts: a.onlyKnownContacts && !b.onlyKnownContacts ? a.onlyKnownContacts : false,
    },
    loosened:
      dropped('excludedDomains') ||
      dropped('excludedAddresses') ||
      dropped('excludedLabels') ||
      (Boolean(b.excludeInternal) && !a.excludeInternal) ||
      (Boolean(b.onlyKnownContacts) && !a.onlyKnownContacts),
  };
}

const hasMessageRules = (r: MergedPrivacyRules) =>
  r.excludedDomains.length > 0 || r.excludedAddresses.length > 0 || r.excludeInternal !== false || r.onlyKnownContacts !== false;

/** Narrows the scan to messages a message-level rule could match; onlyKnownContacts needs every message. */
function candidateFilter(r: MergedPrivacyRules): Record<string, unknown> | null {
  if (r.onlyKnownContacts) return {};
  const or: Record<string, unknown>[] = [];
  if (r.excludedAddresses.length) or.push({ participants: mongoose.trusted({ $in: r.excludedAddresses.map((x) => x.value) }) });
  for (const d of r.excludedDomains) or.push({ participants: new RegExp(`@(?:[^@]+\\.)?${escapeRegex(d.value)}$`) });
  if (r.excludeInternal) or.push({ direction: 'internal' });
  return or.length ? { $or: or } : null;
}

/** Labels are matched like ingest matches them: case-insensitive, nested labels (`Personal/Family`) included. */
function labelFilter(r: MergedPrivacyRules): Record<string, unknown> | null {
  if (r.excludedLabels.length === 0) return null;
  return { $or: r.excludedLabels.map((l) => ({ labels: new RegExp(`^${escapeRegex(l.value).replace(/\\ /g, '\\s+')}(?:/.*)?$`, 'i') })) };
}

interface Scope {
  orgDomains: string[];
  mailboxIds?: Types.ObjectId[];
}

/** A stored message a rule change excludes, with the rule that matched (evaluatePrivacy's answer). */
interface ExcludedMessage extends Holding {
  _id: Types.ObjectId;
  syncedBy: Types.ObjectId[];
  rule: ExcludedRule;
}
export type ExcludedRule = Extract<PrivacyDecision, { excluded: true }>['rule'];

/**
 * Every message (in this scope) that the tightened message-level rules exclude, a page at a time in `_id` order:
 * the one finder behind both the retroactive removal and the admin's preview (previewOrgRulesChange), so "would
 * be removed" and "is removed" cannot disagree. Label rules are per copy: see labelFilter.
 */
async function forEachExcludedMessage(rules: MergedPrivacyRules, scope: Scope, visit: (m: ExcludedMessage) => void): Promise<void> {
  const filter = hasMessageRules(rules) ? candidateFilter(rules) : null;
  if (!filter) return;
  const known = rules.onlyKnownContacts ? await knownAddresses() : new Set<string>();
  const ctx = { isKnownContact: (e: string) => known.has(e), orgDomains: scope.orgDomains };
  const onlyHeld = scope.mailboxIds ? await heldBy(scope.mailboxIds) : null;
  let after: Types.ObjectId | null = null;
  for (;;) {
    const page: {
      _id: Types.ObjectId;
      participants: string[];
      direction: 'inbound' | 'outbound' | 'internal';
      syncedBy?: Types.ObjectId[];
      levelOverrides?: Holding['levelOverrides'];
    }[] = await Message.find(after ? { $and: [filter, { _id: mongoose.trusted({ $gt: after }) }] } : filter)
      .select({ participants: 1, direction: 1, syncedBy: 1, levelOverrides: 1 })
      .sort({ _id: 1 })
      .limit(BATCH)
      .lean();
    if (page.length === 0) break;
    after = page[page.length - 1]._id;
    for (const m of page) {
      if (onlyHeld && !onlyHeld.has(String(m._id))) continue;
      const decision = evaluatePrivacy({ participants: m.participants, labels: [], direction: m.direction }, rules, ctx);
      if (decision.excluded) visit({ _id: m._id, syncedBy: m.syncedBy ?? [], levelOverrides: m.levelOverrides ?? null, rule: decision.rule });
    }
  }
}

/** Message ids (in this scope) that the tightened rules exclude. */
async function excludedMessageIds(rules: MergedPrivacyRules, scope: Scope): Promise<Types.ObjectId[]> {
  const out: Types.ObjectId[] = [];
  await forEachExcludedMessage(rules, scope, (m) => out.push(m._id));
  return out;
}

async function knownAddresses(): Promise<Set<string>> {
  const contacts = await Contact.find({}).select({ emails: 1 }).lean<{ emails: string[] }[]>();
  return new Set(contacts.flatMap((c) => c.emails));
}

async function heldBy(mailboxIds: Types.ObjectId[]): Promise<Set<string>> {
  const ids = await MailboxMessage.distinct('messageId', { mailboxId: mongoose.trusted({ $in: mailboxIds }) });
  return new Set(ids.map(String));
}

async function scheduleReimport(filter: Record<string, unknown>): Promise<void> {
  const now = new Date();
  await Mailbox.updateMany(filter, { $set: { nextRunAt: now, reconcileRequestedAt: now } });
  await signalDue();
}

export interface ApplyResult {
  removedMessages: number;
  removedCopies: number;
  rescheduled: boolean;
}

/** The organisation's sync rules changed (runs in the org's context). */
export async function applyOrgRulesChange(before: RuleSet, after: RuleSet, orgDomains: string[]): Promise<ApplyResult> {
  const { tightened, loosened } = diffRules(before, after);
  const removedMessages = await removeMessages(await excludedMessageIds(tightened, { orgDomains }));
  const labels = labelFilter(tightened);
  let removedCopies = 0;
  let removedByLabel = 0;
  if (labels) {
    // A label is a property of one copy: only that copy is excluded; the message goes when none is left.
    const byUser = await MailboxMessage.distinct('userId', labels);
    for (const userId of byUser as Types.ObjectId[]) {
      const r = await removeCopies({ $and: [labels, { userId }] }, userId);
      removedCopies += r.copies;
      removedByLabel += r.messages;
    }
  }
  if (loosened) await scheduleReimport({});
  return { removedMessages: removedMessages + removedByLabel, removedCopies, rescheduled: loosened };
}

export interface RulesPreview extends ApplyResult {
  /** A few of the messages that would leave the CRM (those `mayShow` allows), with the rule that reaches each. */
  samples: { _id: Types.ObjectId; rule: ExcludedRule }[];
}

/**
 * What applyOrgRulesChange would do with the same arguments, without writing anything: the same diff, the same
 * finder and label filter, so the counts equal the ones the save then reports. Bounded for an admin's page: the
 * messages are counted as they stream past, only `samples` of them are kept, and the label part holds one
 * counter per labelled message (as the removal itself does).
 */
export async function previewOrgRulesChange(
  before: RuleSet,
  after: RuleSet,
  orgDomains: string[],
  opts: { samples: number; mayShow(m: Holding): boolean },
): Promise<RulesPreview> {
  const { tightened, loosened } = diffRules(before, after);
  const samples: RulesPreview['samples'] = [];
  const labels = labelFilter(tightened);
  // Only kept when label rules changed too: a message both kinds reach is removed (and counted) once.
  const byMessageRule = labels ? new Set<string>() : null;
  let removedMessages = 0;
  await forEachExcludedMessage(tightened, { orgDomains }, (m) => {
    removedMessages += 1;
    byMessageRule?.add(String(m._id));
    if (samples.length < opts.samples && opts.mayShow(m)) samples.push({ _id: m._id, rule: m.rule });
  });
  let removedCopies = 0;
  if (labels) {
    const labelRules = { ...mergeRules(NO_RULES), excludedLabels: tightened.excludedLabels };
    const matched = new Map<string, { copies: number; labels: string[] }>();
    for await (const c of MailboxMessage.find(labels)
      .select({ messageId: 1, labels: 1 })
      .lean<{ messageId: Types.ObjectId; labels: string[] }>()
      .cursor({ batchSize: BATCH })) {
      const id = String(c.messageId);
      if (byMessageRule?.has(id)) continue;
      const seen = matched.get(id);
      matched.set(id, { copies: (seen?.copies ?? 0) + 1, labels: seen?.labels ?? c.labels });
      removedCopies += 1;
    }
    const ids = [...matched.keys()];
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH).map((id) => new Types.ObjectId(id));
      const copies = new Map<string, number>();
      for (const c of await MailboxMessage.find({ messageId: mongoose.trusted({ $in: batch }) })
        .select({ messageId: 1 })
        .lean<{ messageId: Types.ObjectId }[]>()) {
        copies.set(String(c.messageId), (copies.get(String(c.messageId)) ?? 0) + 1);
      }
      for (const id of batch) {
        const hit = matched.get(String(id))!;
        // Every copy is labelled: the message goes with them.
        if (copies.get(String(id)) !== hit.copies) continue;
        removedMessages += 1;
        if (samples.length >= opts.samples) continue;
        const doc = await Message.findById(id)
          .select({ syncedBy: 1, levelOverrides: 1 })
          .lean<{ syncedBy?: Types.ObjectId[]; levelOverrides?: Holding['levelOverrides'] }>();
        const decision = evaluatePrivacy({ participants: [], labels: hit.labels, direction: 'inbound' }, labelRules, {
          isKnownContact: () => false,
          orgDomains,
        });
        if (doc && decision.excluded && opts.mayShow({ syncedBy: doc.syncedBy ?? [], levelOverrides: doc.levelOverrides ?? null }))
          samples.push({ _id: id, rule: decision.rule });
      }
    }
  }
  return { removedMessages, removedCopies, rescheduled: loosened, samples };
}

/** One user's own rules changed: only their mailboxes' copies are concerned (runs in the org's context). */
export async function applyUserRulesChange(userId: Types.ObjectId, before: RuleSet, after: RuleSet, orgDomains: string[]): Promise<ApplyResult> {
  const { tightened, loosened } = diffRules(before, after);
  const mailboxIds = (await Mailbox.find({ userId }).select({ _id: 1 }).lean<{ _id: Types.ObjectId }[]>()).map((m) => m._id);
  const total = { copies: 0, messages: 0 };
  const add = (r: { copies: number; messages: number }) => {
    total.copies += r.copies;
    total.messages += r.messages;
  };
  if (mailboxIds.length) {
    const inMailboxes = { mailboxId: mongoose.trusted({ $in: mailboxIds }) };
    const ids = await excludedMessageIds(tightened, { orgDomains, mailboxIds });
    if (ids.length) add(await removeCopies({ ...inMailboxes, messageId: mongoose.trusted({ $in: ids }) }, userId));
    const labels = labelFilter(tightened);
    if (labels) add(await removeCopies({ $and: [labels, inMailboxes] }, userId));
  }
  const rescheduled = loosened && mailboxIds.length > 0;
  if (rescheduled) await scheduleReimport({ userId });
  return { removedMessages: total.messages, removedCopies: total.copies, rescheduled };
}
