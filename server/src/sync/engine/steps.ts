/**
 * The work of each stage (docs/SYNC.md: "Backfill", "Incremental", "Cursor expired", "Push, polling and reconciliation"). Every step stores what it fetched BEFORE it persists the position that
 * says it was fetched, so a crash at any point replays at most one page, which the idempotent ingest absorbs.
 */
import { mapBounded } from '../../async/bounded';
import { Mailbox, MailboxMessage } from '../../models';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { applyDeletes, applyStateChanges } from '../ingest/changes';
import { repairHolders } from '../ingest/holders';
import { ingestMessages, parseAhead, type IngestResult } from '../ingest/store';
import { ProviderError, type RemoteMessage, type SyncCursor } from '../providers/port';
import { decide, MAX_ITEM_ATTEMPTS } from './policy';
import type { RunContext } from './run-context';

/** Messages the reconciliation fetches per stored step; a backfill page's size is the adapter's own unless configured. */
const DEFAULT_PAGE_SIZE = 100;
const FETCH_CONCURRENCY = 4;

type Failure = { providerMessageId: string; code: string; message: string };

/** A stored cursor is used only if it is one of ours for this provider; anything else means a re-list. */
export function validCursor(value: unknown, provider: string): SyncCursor | null {
  const c = value as SyncCursor | null;
  return c && c.v === 1 && c.provider === provider && typeof c.state === 'object' && c.state !== null ? c : null;
}

async function store(run: RunContext, upserts: RemoteMessage[]): Promise<IngestResult> {
  const res = await ingestMessages(run.ingest, upserts);
  run.ingested += res.stored;
  if (res.failed.length > 0)
    await recordPoison(
      run,
      res.failed.map((f) => ({ providerMessageId: f.providerMessageId, code: 'store', message: f.reason })),
    );
  return res;
}

/**
 * Poison messages (one bad message must not stop the mailbox): counted per id; retried on later runs; after MAX_ITEM_ATTEMPTS skipped for good,
 * kept on the mailbox and in syncEvents. They never hold the cursor back.
 */
export async function recordPoison(run: RunContext, failures: Failure[], opts: { retried?: boolean } = {}): Promise<void> {
  if (failures.length === 0) return;
  const now = run.now();
  const list = [...(run.mailbox.poison ?? [])];
  const skippedNow: string[] = [];
  for (const f of failures) {
    const entry = list.find((p) => p.providerMessageId === f.providerMessageId);
    if (entry && !opts.retried && entry.attempts > 0) continue; // seen again on a replayed page: not a new attempt
    const attempts = (entry?.attempts ?? 0) + 1;
    const skipped = attempts >= MAX_ITEM_ATTEMPTS;
    if (skipped && !entry?.skipped) skippedNow.push(f.providerMessageId);
    const next = { providerMessageId: f.providerMessageId, attempts, code: f.code, message: f.message, firstAt: entry?.firstAt ?? now, lastAt: now, skipped };
    if (entry) list[list.indexOf(entry)] = next;
    else list.push(next);
  }
  await run.persist({ poison: list });
  if (skippedNow.length > 0) await run.event('poison_skipped', { providerMessageIds: skippedNow, attempts: MAX_ITEM_ATTEMPTS });
}

/**
 * Fetches the messages a user asked back ("Log this email again": sync/rules/message-choices.ts), each alone, and
 * stores them through the ingest like new mail; then takes exactly those ids off the list (ids added meanwhile stay). One
 * that cannot be fetched now goes to the poison list, which retries it on later runs.
 */
export async function refetchRequested(run: RunContext): Promise<void> {
  const ids = [...new Set(run.mailbox.refetchIds ?? [])];
  if (ids.length === 0) return;
  const fetched: RemoteMessage[] = [];
  const failures: Failure[] = [];
  for (const id of ids) {
    try {
      const msg = await run.call('resync', () => run.adapter.changeSource.fetchMessage(id));
      if (msg) fetched.push(msg);
    } catch (err) {
      const d = decide(err, 'item');
      if (d.action !== 'fail_item') throw err;
      failures.push({ providerMessageId: id, code: d.code, message: d.detail });
    }
  }
  const res = await store(run, fetched);
  await recordPoison(run, failures);
  await runAsSystem('sync refetch done', () => Mailbox.updateOne({ _id: run.mailbox._id }, { $pullAll: { refetchIds: ids } }));
  await run.event('refetched', { asked: ids.length, stored: res.stored, notFound: ids.length - fetched.length - failures.length, failed: failures.length });
}

/** Retries the poison messages not yet given up on: fetched alone, so one bad message costs one call. */
export async function retryPoison(run: RunContext): Promise<void> {
  const pending = (run.mailbox.poison ?? []).filter((p) => !p.skipped);
  if (pending.length === 0) return;
  const fixed = new Set<string>();
  let importedNow = 0;
  const failures: Failure[] = [];
  const completedAt = run.mailbox.backfill?.completedAt ?? null;
  for (const p of pending) {
    try {
      const msg = await run.adapter.changeSource.fetchMessage(p.providerMessageId);
      if (msg) {
        const res = await store(run, [msg]);
        if (res.failed.length > 0) continue;
        // A message the import could not take counts as imported once it is in: in the same write that clears its
        // poison entry, so a replay after a crash counts it once.
        if (completedAt && p.firstAt <= completedAt) importedNow += 1;
      }
      fixed.add(p.providerMessageId);
    } catch (err) {
      const d = decide(err, 'item');
      if (d.action !== 'fail_item') throw err;
      failures.push({ providerMessageId: p.providerMessageId, code: d.code, message: d.detail });
    }
  }
  if (fixed.size > 0) {
    const imported = (run.mailbox.backfill.imported ?? 0) + importedNow;
    await run.persist({
      poison: run.mailbox.poison.filter((p) => !fixed.has(p.providerMessageId)),
      ...(importedNow > 0 ? { 'backfill.imported': imported, 'backfill.total': Math.max(run.mailbox.backfill.total ?? 0, imported) } : {}),
    });
  }
  await recordPoison(run, failures, { retried: true });
}

const asFailures = (failed: { providerMessageId: string; error: ProviderError }[]): Failure[] =>
  failed.map((f) => ({ providerMessageId: f.providerMessageId, code: f.error.code, message: f.error.message.slice(0, 300) }));

/** Backfill: cursor first, then pages newest first with progress after each. Returns true when work is left. */
export async function backfill(run: RunContext): Promise<boolean> {
  const source = run.adapter.changeSource;
  if (!validCursor(run.mailbox.cursor, run.mailbox.provider)) {
    // Taken before anything is listed: whatever changes during the backfill is replayed from it afterwards.
    const cursor = await run.call('backfill', () => source.currentCursor());
    await run.persist({ cursor, 'backfill.startedAt': run.now(), 'backfill.position': null, 'backfill.imported': 0, stage: 'backfill', state: 'backfilling' });
  }
  const since = run.since;
  const maxPages = run.deps.maxPagesPerRun ?? 50;
  const fetchPage = (position: unknown) => {
    const p = run.call('backfill', () => source.backfillPage({ since, position, pageSize: run.deps.pageSize }));
    // Parsed as soon as it arrives, while the page before it is still being stored. The fetch is awaited below, or
    // dropped when the run ends first; a failed parse is parseAll's to answer when the page is stored: neither is
    // ever an unhandled rejection.
    p.then((page) => parseAhead(page.upserts)).catch(() => undefined);
    return p;
  };
  // Read-ahead: the next page is fetched while this one is stored, so the provider is never idle while we write
  // and we never wait on the provider while it could have answered. Only a read: the position persisted is still
  // the one after the page that was stored, so a crash replays at most one page, and the prefetched one is lost.
  let next = fetchPage(run.mailbox.backfill.position ?? null);
  for (let n = 0; n < maxPages; n++) {
    const page = await next;
    if (page.nextPosition !== null && n + 1 < maxPages) next = fetchPage(page.nextPosition);
    run.pages += 1;
    const res = await store(run, page.upserts);
    await recordPoison(run, asFailures(page.failed));
    // Counted when the position moves (the same write), so a page replayed after a crash is counted exactly once.
    const imported = (run.mailbox.backfill.imported ?? 0) + res.stored + res.alreadyStored + res.excluded;
    const done = page.nextPosition === null;
    await run.persist({
      'backfill.position': page.nextPosition,
      'backfill.imported': imported,
      'backfill.total': done ? imported : Math.max(page.totalEstimate ?? 0, imported),
      // A finished backfill listed the whole window and replays what changed meanwhile from its cursor: that is a
      // reconciliation, so the next one is due a full period later, not on the first incremental run.
      // Not `live` yet: the run goes on to start push and read once more from the cursor (runner.ts).
      ...(done ? { 'backfill.completedAt': run.now(), reconciledAt: run.now(), stage: 'incremental', ...(page.cursor ? { cursor: page.cursor } : {}) } : {}),
    });
    if (done) return false;
  }
  return true;
}

/**
 * Incremental: pages of changes from the stored cursor; each page stored (upserts, state, deletes) before the next
 * cursor is persisted. The cursor only ever comes from the provider's own pages — a push never sets it — so a stale
 * or replayed push cannot move it backwards.
 */
export async function incremental(run: RunContext): Promise<boolean> {
  const source = run.adapter.changeSource;
  const cursor = validCursor(run.mailbox.cursor, run.mailbox.provider);
  if (!cursor) throw new ProviderError('cursor_expired', 'no usable cursor is stored');
  let position: unknown = null;
  let resetRound = false;
  for (;;) {
    const fetchedAt = run.now();
    const page = await run.call('incremental', () => source.changesSince(cursor, position));
    run.pages += 1;
    resetRound ||= page.reset;
    await store(run, page.upserts);
    await recordPoison(run, asFailures(page.failed ?? []));
    await applyStateChanges(run.mailbox, page.stateChanges, { changedAt: fetchedAt });
    await applyDeletes(run.mailbox, page.deletes, run.ingest.org.sync.deletionPolicy, run.now());
    if (page.nextCursor) {
      // A reset round re-listed everything: what it did not list is gone.
      if (resetRound) await reconcile(run, { fetchMissing: false });
      await run.persist({ cursor: page.nextCursor });
      return false;
    }
    if (page.nextPosition === null) return false;
    position = page.nextPosition;
    await run.keepLease();
  }
}

/**
 * Re-list and repair (docs/SYNC.md, "Cursor expired" and "Push, polling and reconciliation"): every provider id in the window is compared with the stored copies; what
 * is missing is fetched and stored, copies the provider no longer has are deleted per policy. Bounded by the history
 * window on both sides. With `freshCursor` (cursor expiry) a new cursor is taken first and replaces the old one.
 */
export async function reconcile(run: RunContext, opts: { freshCursor?: boolean; fetchMissing?: boolean } = {}): Promise<void> {
  const source = run.adapter.changeSource;
  const cursor = opts.freshCursor ? await run.call('resync', () => source.currentCursor()) : null;
  const since = run.since;
  const listed = new Set<string>();
  for await (const ids of source.listAllIds({ since })) {
    for (const id of ids) listed.add(id);
    await run.keepLease();
  }
  const stored = await runInOrg(run.mailbox.orgId, () =>
    MailboxMessage.find({ mailboxId: run.mailbox._id }, { providerMessageId: 1, receivedAt: 1, messageId: 1 }).lean(),
  );
  const have = new Set(stored.map((c) => c.providerMessageId));
  const skipped = new Set((run.mailbox.poison ?? []).filter((p) => p.skipped).map((p) => p.providerMessageId));
  const missing = [...listed].filter((id) => !have.has(id) && !skipped.has(id));
  let repaired = 0;
  if (opts.fetchMissing !== false) {
    const pageSize = run.deps.pageSize ?? DEFAULT_PAGE_SIZE;
    for (let i = 0; i < missing.length; i += pageSize) {
      const chunk = missing.slice(i, i + pageSize);
      const failures: Failure[] = [];
      const fetched = await mapBounded(chunk, FETCH_CONCURRENCY, async (id) => {
        try {
          return await run.call('resync', () => source.fetchMessage(id));
        } catch (err) {
          const d = decide(err, 'item');
          if (d.action !== 'fail_item') throw err;
          failures.push({ providerMessageId: id, code: d.code, message: d.detail });
          return null;
        }
      });
      repaired += (
        await store(
          run,
          fetched.filter((m): m is RemoteMessage => m !== null),
        )
      ).stored;
      await recordPoison(run, failures);
      await run.keepLease();
    }
  }
  // Only copies inside the listed window can be judged gone; older ones were simply not listed.
  const gone = stored.filter((c) => !listed.has(c.providerMessageId) && c.receivedAt && c.receivedAt.getTime() >= since.getTime());
  const deleted = await applyDeletes(
    run.mailbox,
    gone.map((c) => c.providerMessageId),
    run.ingest.org.sync.deletionPolicy,
    run.now(),
  );
  const goneIds = new Set(gone.map((c) => c.providerMessageId));
  const holdersRepaired = await runInOrg(run.mailbox.orgId, () =>
    repairHolders(
      stored.filter((c) => !goneIds.has(c.providerMessageId)),
      run.mailbox.userId,
    ),
  );
  // A resync that ends a backfill (its cursor expired on the way) has listed and fetched the whole window itself:
  // the import is complete, and its progress says so.
  const held = [...listed].filter((id) => !skipped.has(id)).length;
  const endsBackfill =
    cursor && !run.mailbox.backfill?.completedAt ? { 'backfill.completedAt': run.now(), 'backfill.imported': held, 'backfill.total': held } : {};
  await run.persist({
    reconciledAt: run.now(),
    reconcileRequestedAt: null,
    ...(cursor ? { cursor, stage: 'incremental' } : {}),
    ...endsBackfill,
  });
  await run.event(opts.freshCursor ? 'resynced' : 'reconciled', {
    listed: listed.size,
    missing: missing.length,
    repaired,
    gone: gone.length,
    deletes: deleted,
    holdersRepaired,
  });
}

/** Keeps push alive (docs/SYNC.md, "Push, polling and reconciliation"): started when missing, renewed well before expiry. Failures never stop sync. */
export async function upkeepPush(run: RunContext): Promise<void> {
  const push = run.adapter.push;
  if (!push) return;
  const current = run.mailbox.push;
  const renewBeforeMs = run.deps.pushRenewBeforeMs ?? 86_400_000;
  if (current?.expiresAt && current.expiresAt.getTime() - run.now().getTime() > renewBeforeMs) return;
  try {
    const info = current?.expiresAt
      ? await push.renew({ channelId: current.channelId, clientState: current.clientState, expiresAt: current.expiresAt })
      : await push.start();
    await run.persist({ 'push.channelId': info.channelId, 'push.clientState': info.clientState, 'push.expiresAt': info.expiresAt });
  } catch (err) {
    const d = decide(err, 'push');
    if (d.action !== 'fail_item') throw err;
    await run.event('push_failed', { code: d.code, detail: d.detail });
  }
}
