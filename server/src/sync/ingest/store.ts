/**
 * The storing end of the ingest (docs/SYNC.md "Privacy first" to "Threads"): a page of provider messages becomes
 * `messages` (one per email per organisation), `mailboxMessages` (one per copy), threads, links and auto-created
 * contacts.
 *
 * Idempotent by construction — ids are derived from the unique keys (models/ids.ts) and every write is an unordered batch
 * insert where "already there" is an answer, not an error — so a crash at any point is repaired by storing the page
 * again. Per page: one parse pass, two or three batch inserts, and an update only where a document already existed.
 */
import mongoose from 'mongoose';
import { MailboxMessage, Message, Outbox, SyncEvent } from '../../models';
import { runInOrg } from '../../db/tenant';
import { registrableDomain } from '../../mail/domains';
import type { RemoteMessage } from '../providers/port';
import { autoCreateContacts } from './auto-create';
import { collisionFingerprint, normaliseForKey } from './dedup-key';
import { insertIdempotent } from './bulk';
import { findCopies, mergeIntoCopies } from './changes';
import { addHoldings, lackingHoldings } from './holders';
import { privacyRulesOf, type IngestContext } from './context';
import { directoryVersion, OrgDirectory } from '../../crm/directory';
import { copyDocId, messageDocId } from '../../models/ids';
import { relinkContact } from '../../crm/link';
import type { ParsedMessage } from '../../mail/message';
import { messageContent, parseAll, screen, threadRoot, type Prepared } from './prepare';
export { parseAhead } from './prepare';
import type { PrivacyRuleKind } from './privacy';
import { coveredByChoices, noteKeptOut, type ChoiceOwner } from './log-choices';
import { removeCopies } from './removal';
import { changeFromSnapshot } from './state';
import { indexMessages } from '../../store/activity';
import { resolveThreads, ThreadKeyCache } from './threads';

export interface IngestResult {
  received: number;
  /** New copies written for this mailbox. */
  stored: number;
  /** Copies this mailbox already had (a replay, a reconciliation): their state was refreshed instead. */
  alreadyStored: number;
  /** New `messages` documents (the rest were already held by this or another mailbox of the organisation). */
  newMessages: number;
  excluded: number;
  excludedByRule: Partial<Record<PrivacyRuleKind, number>>;
  /** Kept out by the user's own "don't log this email / thread" (counted in `excluded` too). */
  excludedByChoice: number;
  /** Kept raw and flagged. */
  malformed: number;
  contactsCreated: number;
  /** Existing copies whose state or labels changed. */
  stateChanged: number;
  /** Refused by the database (not duplicates): the caller records them as poison and moves on. */
  failed: { providerMessageId: string; reason: string }[];
}

/**
 * Messages stored per step: the next step is parsed (on the parse threads, or on this one between the database's
 * answers) while this one is written. A step costs a fixed number of database round trips, so fewer, larger steps
 * cost less per message, while a step still bounds what is parsed ahead of the writes.
 */
const PIPELINE_CHUNK = 125;

export async function ingestMessages(ctx: IngestContext, remote: RemoteMessage[]): Promise<IngestResult> {
  const result: IngestResult = {
    received: remote.length,
    stored: 0,
    alreadyStored: 0,
    newMessages: 0,
    excluded: 0,
    excludedByRule: {},
    excludedByChoice: 0,
    malformed: 0,
    contactsCreated: 0,
    stateChanged: 0,
    failed: [],
  };
  if (remote.length === 0) return result;
  return runInOrg(ctx.mailbox.orgId, async () => {
    ctx.directory ??= await OrgDirectory.load();
    ctx.threadKeys ??= new ThreadKeyCache();
    const chunks: RemoteMessage[][] = [];
    for (let i = 0; i < remote.length; i += PIPELINE_CHUNK) chunks.push(remote.slice(i, i + PIPELINE_CHUNK));
    let parsing = parseAll(chunks[0]);
    for (let k = 0; k < chunks.length; k++) {
      const parsed = await parsing;
      if (k + 1 < chunks.length) parsing = parseAll(chunks[k + 1]);
      await storeParsed(ctx, chunks[k], parsed, result);
    }
    return result;
  });
}

async function storeParsed(ctx: IngestContext, remote: RemoteMessage[], parsed: ParsedMessage[], result: IngestResult): Promise<void> {
  const { mailbox } = ctx;
  const orgId = mailbox.orgId;
  const now = ctx.now?.() ?? new Date();
  const rules = privacyRulesOf(ctx);
  const directory = ctx.directory!;
  const threadKeys = ctx.threadKeys!;
  // 1. Screen: excluded mail stops here, before anything about it is written.
  const screened: Prepared[] = [];
  const excluded: Partial<Record<PrivacyRuleKind, number>> = {};
  remote.forEach((r, i) => {
    const s = screen(r, parsed[i], mailbox, ctx.org.domains, rules, (e) => directory.isKnownContact(e));
    if (s.kind === 'kept') screened.push(s.item);
    else excluded[s.rule.kind] = (excluded[s.rule.kind] ?? 0) + 1;
  });
  const excludedCount = Object.values(excluded).reduce((a, b) => a + b, 0);
  if (excludedCount > 0) {
    result.excluded += excludedCount;
    for (const [kind, n] of Object.entries(excluded) as [PrivacyRuleKind, number][]) result.excludedByRule[kind] = (result.excludedByRule[kind] ?? 0) + n;
    await SyncEvent.create({ mailboxId: mailbox._id, at: now, kind: 'privacy_excluded', detail: { count: excludedCount, byRule: excluded } });
  }

  // The Sent copy of a message sent from the CRM belongs to the CRM's message, whatever its Message-ID says: Graph
  // replies (createReply) get a Message-ID from Exchange, not ours. The outbox knows the copy's provider id (the
  // two-step sender's draft id, recorded before the send; or the id recorded after it), and sync may read the
  // copy back before the sender wrote it (recordSentCopy): without this look-up that race made a second message.
  const crmSent = await crmSentMessages(mailbox, screened);
  // …unless that message is gone since (its copies were removed: the user's "don't log this thread", then "Log
  // again"; privacy rules tightened, then loosened): then the copy brings it back under the CRM's id, as new mail.
  const crmGone = await goneMessages(crmSent);
  // 1b. The user's own "don't log this email / thread" choices, before anything is written too. A send from the CRM
  // is logged by being sent from it: its Sent copy is never kept out — while the CRM holds it; one whose message a
  // choice removed is mail like any other.
  const owner = { orgId, userId: mailbox.userId, mailboxId: mailbox._id };
  const heldSend = (providerMessageId: string) => crmSent.has(providerMessageId) && !crmGone.has(providerMessageId);
  const kept = await applyChoices(owner, screened, (k) => heldSend(k.remote.providerMessageId), result);
  if (kept.length === 0) return;

  // 2. Contacts the policy creates, then links from the (now complete) directory.
  const created = await autoCreateContacts(ctx, kept, directory, rules, now);
  result.contactsCreated += created.length;
  const ownCompanyDomains = ctx.org.domains.map(registrableDomain).filter((d): d is string => d !== null);

  // 3. Threads, then the messages themselves (one document per dedup key, even within the page).
  const threads = await resolveThreads(
    orgId,
    mailbox._id,
    kept.map((k) => ({
      ...threadRoot(k.parsed),
      providerThreadId: k.remote.providerThreadId,
      fallbackKey: `key:${k.dedupKey}`,
      subject: k.parsed.subject,
      date: k.parsed.date ?? k.remote.receivedAt,
    })),
    threadKeys,
    now,
  );
  // Copies of mail without a Message-ID this mailbox already stored keep their message (storedContentKeyedCopies).
  const sentAs = new Map(crmSent);
  for (const [providerMessageId, messageId] of await storedContentKeyedCopies(mailbox, kept)) sentAs.set(providerMessageId, messageId);
  const messageIds = kept.map((k) => sentAs.get(k.remote.providerMessageId) ?? messageDocId(orgId, k.dedupKey));
  const firstIndex = new Map<string, number>();
  messageIds.forEach((id, i) => firstIndex.has(String(id)) || firstIndex.set(String(id), i));
  // The CRM's own message already exists (written at enqueue): no `messages` document for those.
  const docIdx = [...firstIndex.values()].filter((i) => !sentAs.has(kept[i].remote.providerMessageId) || crmGone.has(kept[i].remote.providerMessageId));
  // Each copy's `_id` is known before it is written (models/ids.ts), so a new message lists its copies from the start.
  const copyIds = kept.map((k) => copyDocId(orgId, mailbox._id, k.remote.providerMessageId));
  /** The page's copies of each message, by the message ids as they stand. */
  const pageCopies = () => {
    const byMessage = new Map<string, mongoose.Types.ObjectId[]>();
    messageIds.forEach((id, i) => byMessage.set(String(id), [...(byMessage.get(String(id)) ?? []), copyIds[i]]));
    return byMessage;
  };
  /** The `messages` document of kept[i], but for its `_id`. */
  const messageFields = (i: number, copies: Map<string, mongoose.Types.ObjectId[]>) => ({
    orgId,
    ...messageContent(kept[i]),
    threadId: threads[i],
    ...directory.linksFor(kept[i].participants, ownCompanyDomains),
    syncedBy: [mailbox.userId],
    copyIds: copies.get(String(messageIds[i])) ?? [],
    createdAt: now,
    updatedAt: now,
  });
  const firstCopies = pageCopies();
  const messageDocs = docIdx.map((i) => ({ _id: messageIds[i], ...messageFields(i, firstCopies) }));
  const msgOutcome = await insertIdempotent(Message, messageDocs);
  result.newMessages += msgOutcome.inserted.length;
  const failedMessages = new Set(msgOutcome.failed.map((f) => String(messageDocs[f.index]._id)));
  // A message that already exists under another _id than the stable one — the CRM's own message of a send, written at
  // enqueue under the id the API answered — is the one its copies must point at. Without this, a Sent copy read back
  // before the outbox recorded its provider id (a crash between Gmail accepting the send and us recording it) was
  // stored pointing at no message at all, and the CRM message never got its copy.
  if (msgOutcome.existing.length > 0) {
    const keys = msgOutcome.existing.map((j) => kept[docIdx[j]].dedupKey);
    const found = await Message.find({ dedupKey: mongoose.trusted({ $in: keys }) }, { _id: 1, dedupKey: 1 }).lean<
      { _id: mongoose.Types.ObjectId; dedupKey: string }[]
    >();
    const actual = new Map(found.map((m) => [m.dedupKey, m._id]));
    kept.forEach((k, i) => {
      const id = actual.get(k.dedupKey);
      if (id && !sentAs.has(k.remote.providerMessageId)) messageIds[i] = id;
    });
  }
  let separatedCopies: Map<string, mongoose.Types.ObjectId[]> | undefined;
  const separatedFields = (i: number) => messageFields(i, (separatedCopies ??= pageCopies()));
  await separateCollisions(orgId, kept, docIdx, msgOutcome.existing, messageIds, separatedFields, result);
  const existingMessages = msgOutcome.existing.map((j) => messageIds[docIdx[j]]);

  // 4. The copies. A failed message write leaves its copy out too (it is retried as a poison item).
  const copyIdx = kept.map((_, i) => i).filter((i) => !failedMessages.has(String(messageIds[i])));
  for (const i of kept.keys()) {
    if (failedMessages.has(String(messageIds[i]))) {
      const reason = msgOutcome.failed.find((f) => String(messageDocs[f.index]._id) === String(messageIds[i]))!.message;
      result.failed.push({ providerMessageId: kept[i].remote.providerMessageId, reason });
    }
  }
  const copyDocs = copyIdx.map((i) => {
    const r = kept[i].remote;
    return {
      _id: copyIds[i],
      orgId,
      mailboxId: mailbox._id,
      userId: mailbox.userId,
      messageId: messageIds[i],
      providerMessageId: r.providerMessageId,
      providerThreadId: r.providerThreadId,
      labels: r.labels,
      folderId: r.folderId,
      receivedAt: r.receivedAt,
      state: r.flags,
      stateChangedAt: {},
      pending: [],
      createdAt: now,
      updatedAt: now,
    };
  });
  const copyOutcome = await insertIdempotent(MailboxMessage, copyDocs);
  // The thread this page resolved is the stored message's own unless the message is the CRM's (indexed when it
  // was recorded, with its thread; one stored again here is new mail) or was stored before under another; a thread
  // entry is checked when read.
  await indexMessages(
    copyOutcome.inserted.map((j) => {
      const i = copyIdx[j];
      const k = kept[i];
      const threadId = sentAs.has(k.remote.providerMessageId) && !crmGone.has(k.remote.providerMessageId) ? undefined : threads[i];
      return { messageId: copyDocs[j].messageId, date: k.parsed.date ?? k.remote.receivedAt, participants: k.participants, threadId };
    }),
  );
  result.stored += copyOutcome.inserted.length;
  result.alreadyStored += copyOutcome.existing.length;
  copyOutcome.failed.forEach((f) => result.failed.push({ providerMessageId: copyDocs[f.index].providerMessageId, reason: f.message }));
  const malformedIds = copyOutcome.inserted.filter((j) => kept[copyIdx[j]].parsed.malformed).map((j) => copyDocs[j].providerMessageId);
  if (malformedIds.length > 0) {
    result.malformed += malformedIds.length;
    await SyncEvent.create({
      mailboxId: mailbox._id,
      at: now,
      kind: 'malformed_kept',
      detail: { count: malformedIds.length, providerMessageIds: malformedIds },
    });
  }

  // 5. Holders: a message stored before this page (by another mailbox, or the CRM's own) gains this user and lists
  // the new copy. When this mailbox's copy already existed (a replay) both were normally added then, but a crash
  // between the two writes is possible: check those.
  const existed = new Set(existingMessages.map(String));
  const storedBefore = (j: number) => existed.has(String(copyDocs[j].messageId)) || sentAs.has(copyDocs[j].providerMessageId);
  const holdingOf = (j: number) => ({ messageId: copyDocs[j].messageId, copyIds: [copyDocs[j]._id] });
  const replayed = copyOutcome.existing.filter(storedBefore).map(holdingOf);
  await addHoldings(
    [...copyOutcome.inserted.filter(storedBefore).map(holdingOf), ...(replayed.length > 0 ? await lackingHoldings(replayed, mailbox.userId) : [])],
    mailbox.userId,
  );

  // 6. Copies that existed: the provider's current flags and labels, through the echo and later-wins rules.
  if (copyOutcome.existing.length > 0) {
    const again = copyOutcome.existing.map((j) => kept[copyIdx[j]].remote);
    const rows = await findCopies(
      mailbox,
      again.map((r) => r.providerMessageId),
    );
    const changes = again.flatMap((r) => {
      const row = rows.get(r.providerMessageId);
      if (!row) return [];
      const current = {
        state: row.state,
        stateChangedAt: row.stateChangedAt ?? {},
        labels: row.labels ?? [],
        folderId: row.folderId ?? null,
        pending: row.pending ?? [],
      };
      return [{ providerMessageId: r.providerMessageId, change: changeFromSnapshot(current, r.flags, r.labels, r.folderId) }];
    });
    result.stateChanged += (await mergeIntoCopies(rows, changes, now)).applied;
  }

  // 7. Mail stored before these contacts existed (earlier pages, other mailboxes) is linked to them too.
  const versionBefore = created.length > 0 ? await directoryVersion() : directory.version;
  for (const c of created) await relinkContact({ _id: c._id, orgId, emails: c.emails, companyId: c.companyId });

  // 8. Contacts, companies or deals changed by someone else since the directory was loaded: reload it and link this
  // page again (the other side relinks only what was stored before it moved the version; crm/directory.ts).
  const versionNow = await directoryVersion();
  if (versionBefore === directory.version && versionNow === versionBefore + created.length) {
    directory.version = versionNow; // only this page's own contacts moved it, and they are in the directory already
  } else {
    const stored = kept.flatMap((k, i) => (failedMessages.has(String(messageIds[i])) ? [] : [{ messageId: messageIds[i], participants: k.participants }]));
    await relinkPage(ctx, stored, ownCompanyDomains);
  }

  // 9. A choice made while this page was being stored (after step 1b read the keys) takes back what it covers, through
  // the one removal path: the answer to "don't log" never races a sync into keeping the email.
  const written = copyOutcome.inserted
    .map((j) => ({ item: kept[copyIdx[j]], copyId: copyDocs[j]._id }))
    .filter(({ item }) => !heldSend(item.remote.providerMessageId));
  await takeBackLateChoices(owner, written, result);
}

/** Step 1b: the copies the user's choices cover are kept out (and noted on their choice); the rest go on. */
async function applyChoices(owner: ChoiceOwner, items: Prepared[], exempt: (item: Prepared) => boolean, result: IngestResult): Promise<Prepared[]> {
  const candidates = items.filter((k) => !exempt(k));
  const covered = await coveredByChoices(owner, candidates);
  if (covered.size === 0) return items;
  const out = new Set(candidates.filter((_, i) => covered.has(i)));
  await noteKeptOut(
    owner,
    [...covered].map(([i, exclusionId]) => ({ exclusionId, item: candidates[i] })),
  );
  result.excluded += out.size;
  result.excludedByChoice += out.size;
  return items.filter((k) => !out.has(k));
}

/** Step 9 (exported for its test: the race it closes cannot be timed from outside). */
export async function takeBackLateChoices(
  owner: ChoiceOwner,
  written: { item: Prepared; copyId: mongoose.Types.ObjectId }[],
  result: IngestResult,
): Promise<void> {
  const covered = await coveredByChoices(
    owner,
    written.map((w) => w.item),
  );
  if (covered.size === 0) return;
  const taken = [...covered.keys()].map((i) => written[i]);
  const removed = await removeCopies({ _id: mongoose.trusted({ $in: taken.map((t) => t.copyId) }) }, owner.userId);
  await noteKeptOut(
    owner,
    [...covered].map(([i, exclusionId]) => ({ exclusionId, item: written[i].item })),
  );
  result.stored -= removed.copies;
  result.excluded += removed.copies;
  result.excludedByChoice += removed.copies;
}

/**
 * A Message-ID is chosen by whoever sends the mail, so it is not proof that two copies are one email: an outsider can
 * send a teammate a message reusing the Message-ID of someone's private mail. A copy joins the stored message of its
 * Message-ID only when they also agree on the sender and on the date (to the second) or the subject (a list may tag
 * a subject, a relay may not keep the exact date; nobody else writes the same sender's mail with the same id).
 * Otherwise it becomes a message of its own, keyed `mid:<id>#<fingerprint>`, so neither copy's body, holders or
 * visibility ever show through the other (docs/SECURITY.md, "Deduplication").
 */
async function separateCollisions(
  orgId: mongoose.Types.ObjectId,
  kept: Prepared[],
  docIdx: number[],
  existing: number[],
  messageIds: mongoose.Types.ObjectId[],
  docOf: (i: number) => Record<string, unknown>,
  result: IngestResult,
): Promise<void> {
  const candidates = existing.map((j) => docIdx[j]).filter((i) => kept[i].dedupKey.startsWith('mid:'));
  if (candidates.length === 0) return;
  const stored = await Message.find({ _id: mongoose.trusted({ $in: candidates.map((i) => messageIds[i]) }) }, { from: 1, date: 1, subject: 1 }).lean<
    { _id: mongoose.Types.ObjectId; from: { email: string } | null; date: Date | null; subject: string }[]
  >();
  const byId = new Map(stored.map((m) => [String(m._id), m]));
  const split = candidates.filter((i) => {
    const m = byId.get(String(messageIds[i]));
    return m !== undefined && !sameEmail(m, kept[i].parsed);
  });
  if (split.length === 0) return;
  // A later copy in the page with the same original id and the same content follows its first to the new message.
  const moved = new Map<string, { key: string; id: mongoose.Types.ObjectId }>();
  for (const i of split) {
    const original = String(messageIds[i]);
    const key = `${kept[i].dedupKey}#${collisionFingerprint(kept[i].parsed)}`;
    kept[i].dedupKey = key;
    messageIds[i] = messageDocId(orgId, key);
    moved.set(`${original}|${collisionFingerprint(kept[i].parsed)}`, { key, id: messageIds[i] });
  }
  const firsts = new Set(docIdx);
  kept.forEach((k, i) => {
    const follow = !firsts.has(i) && moved.get(`${String(messageIds[i])}|${collisionFingerprint(k.parsed)}`);
    if (follow) {
      k.dedupKey = follow.key;
      messageIds[i] = follow.id;
    }
  });
  const docs = split.map((i) => ({ _id: messageIds[i], ...docOf(i) }));
  const outcome = await insertIdempotent(Message, docs);
  result.newMessages += outcome.inserted.length;
}

function sameEmail(stored: { from: { email: string } | null; date: Date | null; subject: string }, parsed: ParsedMessage): boolean {
  const sender = parsed.from[0]?.email?.toLowerCase() ?? '';
  if ((stored.from?.email ?? '').toLowerCase() !== sender) return false;
  const seconds = (d: Date | null | undefined) => (d && !Number.isNaN(d.getTime()) ? Math.floor(d.getTime() / 1000) : null);
  const date = seconds(parsed.date);
  if (date !== null && date === seconds(stored.date)) return true;
  return normaliseForKey(stored.subject ?? '') === normaliseForKey(parsed.subject);
}

/** Reloads the run's directory and adds the links it gives to the page's messages. */
async function relinkPage(
  ctx: IngestContext,
  stored: { messageId: mongoose.Types.ObjectId; participants: string[] }[],
  ownCompanyDomains: string[],
): Promise<void> {
  const directory = (ctx.directory = await OrgDirectory.load());
  const seen = new Set<string>();
  for (const { messageId, participants } of stored) {
    if (seen.has(String(messageId))) continue;
    seen.add(String(messageId));
    const links = directory.linksFor(participants, ownCompanyDomains);
    if (links.contactIds.length + links.companyIds.length + links.dealIds.length === 0) continue;
    await Message.updateOne(
      { _id: messageId },
      {
        $addToSet: { contactIds: { $each: links.contactIds }, companyIds: { $each: links.companyIds }, dealIds: { $each: links.dealIds } },
      },
    );
  }
}

/**
 * provider id → message id, for copies of mail without a Message-ID that this mailbox already stored. Their key
 * (`hash:`, dedup-key.ts) is made of parsed content, which a better parser reads differently (a subject once read
 * with U+FFFD): such a copy seen again — a reconciliation, a cursor-expiry re-list — keeps the message it has
 * rather than making a second one. One read by `_id` per such copy; mail with a Message-ID costs nothing.
 */
async function storedContentKeyedCopies(mailbox: IngestContext['mailbox'], kept: Prepared[]): Promise<Map<string, mongoose.Types.ObjectId>> {
  const ids = kept.filter((k) => k.dedupKey.startsWith('hash:')).map((k) => k.remote.providerMessageId);
  const copies = await findCopies(mailbox, ids);
  return new Map([...copies].flatMap(([providerMessageId, copy]) => (copy.messageId ? [[providerMessageId, copy.messageId] as const] : [])));
}

/** The provider ids among `sent` whose CRM message is no longer stored. One read by `_id`; none without sends. */
async function goneMessages(sent: Map<string, mongoose.Types.ObjectId>): Promise<Set<string>> {
  if (sent.size === 0) return new Set();
  const found = await Message.find({ _id: mongoose.trusted({ $in: [...sent.values()] }) }, { _id: 1 }).lean<{ _id: mongoose.Types.ObjectId }[]>();
  const stored = new Set(found.map((m) => String(m._id)));
  return new Set([...sent].filter(([, id]) => !stored.has(String(id))).map(([providerMessageId]) => providerMessageId));
}

/**
 * provider id → CRM message id, for the copies in the page that are this mailbox's sends from the CRM (outbox
 * entries with that draft or sent id). Only mail from the mailbox's own address is looked up: one small read per
 * page that holds sent mail, none otherwise.
 */
async function crmSentMessages(mailbox: IngestContext['mailbox'], kept: Prepared[]): Promise<Map<string, mongoose.Types.ObjectId>> {
  const own = mailbox.address.toLowerCase();
  const ids = kept.filter((k) => k.parsed.from.some((a) => a.email === own)).map((k) => k.remote.providerMessageId);
  const out = new Map<string, mongoose.Types.ObjectId>();
  if (ids.length === 0) return out;
  const entries = await Outbox.find(
    mongoose.trusted({
      mailboxId: mailbox._id,
      messageId: mongoose.trusted({ $ne: null }),
      $or: [{ providerDraftId: mongoose.trusted({ $in: ids }) }, { providerMessageId: mongoose.trusted({ $in: ids }) }],
    }),
    { messageId: 1, providerDraftId: 1, providerMessageId: 1 },
  ).lean<{ messageId: mongoose.Types.ObjectId; providerDraftId: string | null; providerMessageId: string | null }[]>();
  for (const e of entries) {
    for (const id of [e.providerDraftId, e.providerMessageId]) if (id && ids.includes(id)) out.set(id, e.messageId);
  }
  return out;
}
