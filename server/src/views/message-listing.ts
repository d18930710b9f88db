/**
 * Lists of message summaries as every read route builds them: the visibility filter in the query itself (so a
 * page is never short because of hidden mail), the copies of the listed messages by `_id` (store/activity.ts), and
 * an opaque cursor of (date, _id) for newest-first paging.
 */
import { Types } from 'mongoose';
import { z } from 'zod';
import { PageQuery } from '@threadline/shared/src/api/messages';
import type { VisibilityPolicy } from '../crm/visibility';
import { copiesOf, newestWith, type Source } from '../store/activity';
import { Message, type MessageDoc } from '../models/message';
import { copyFor, messageSummary, type MessageSummary } from './records';
import { leanByIds } from '../store/lean';

/** Fields a summary needs: the body and the raw copy of malformed mail stay in the database. */
export const SUMMARY_FIELDS = {
  threadId: 1,
  internetMessageId: 1,
  subject: 1,
  from: 1,
  to: 1,
  cc: 1,
  date: 1,
  direction: 1,
  snippet: 1,
  hasAttachments: 1,
  syncedBy: 1,
  copyIds: 1,
  levelOverrides: 1,
} as const;

/** Summaries of already-loaded messages, leaving out those the caller may not see at all. */
export async function summariesFor(messages: MessageDoc[], policy: VisibilityPolicy): Promise<MessageSummary[]> {
  const copies = await copiesOf(messages);
  const out: MessageSummary[] = [];
  for (const m of messages) {
    const access = policy.access(m);
    if (access === 'none') continue;
    const shows = (u: Types.ObjectId) => policy.shows(u, m);
    out.push(messageSummary(m, copyFor(copies.get(String(m._id)) ?? [], policy.callerId, shows), access, shows));
  }
  return out;
}

// ---------- paging ----------
export const pageQuery = PageQuery;

interface Cursor {
  d: number;
  i: string;
}

/** A cursor this API did not give out; answered as a 400 (http/errors.ts). */
export class CursorError extends Error {
  constructor() {
    super('cursor: not a cursor this API gave out');
    this.name = 'CursorError';
  }
}
const cursorShape = z.object({ v: z.literal(1), d: z.number().int(), i: z.string().regex(/^[0-9a-f]{24}$/) }).strict();

export function encodeCursor(m: Pick<MessageDoc, 'date' | '_id'>): string {
  return Buffer.from(JSON.stringify({ v: 1, d: new Date(m.date).getTime(), i: String(m._id) })).toString('base64url');
}

export function decodeCursor(s: string): Cursor {
  try {
    const parsed = cursorShape.parse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8')));
    return { d: parsed.d, i: parsed.i };
  } catch {
    throw new CursorError();
  }
}

/** One newest-first page of the messages matching `filter` that the caller may see. */
/** Whether `a` comes before `b` newest first: a later date, or the same date and a greater id (the key order). */
function newer(a: { date: Date; messageId?: Types.ObjectId; _id?: Types.ObjectId }, b: Pick<MessageDoc, 'date' | '_id'>): boolean {
  const [ta, tb] = [new Date(a.date).getTime(), new Date(b.date).getTime()];
  return ta !== tb ? ta > tb : String(a.messageId ?? a._id) > String(b._id);
}

/**
 * One newest-first page of the messages from these sources (addresses, company domains) that the caller may see,
 * from the activity read model (store/activity.ts: `_id` ranges, whatever the size of the organisation). A contact's
 * timeline is its addresses' mail, a company's its domains' and its contacts' mail, so an address added to a
 * contact or a domain to a company shows its mail at once. `only` narrows the sources' mail to what belongs (a
 * deal's), reading the `fields` that decides it, and adds messages named by id.
 */
export async function activityPage(
  sources: readonly Source[],
  policy: VisibilityPolicy,
  page: { limit: number; cursor?: string },
  only?: { belongs: (doc: MessageDoc) => boolean; fields: Record<string, 1>; alsoIds: readonly Types.ObjectId[] },
): Promise<{ messages: MessageSummary[]; nextCursor: string | null }> {
  const c = page.cursor ? decodeCursor(page.cursor) : null;
  const before = c ? { date: new Date(c.d), messageId: new Types.ObjectId(c.i) } : undefined;
  const load = (ids: readonly Types.ObjectId[]) => leanByIds<MessageDoc>(Message, ids, { ...SUMMARY_FIELDS, ...only?.fields });
  const accept = (doc: MessageDoc) => policy.access(doc) !== 'none' && (!only || only.belongs(doc));
  let docs = await newestWith(sources, page.limit + 1, (ids) => load(ids), accept, before);
  if (only?.alsoIds.length) {
    // Messages named one by one (attached to a deal, say), merged in order: newest first by date, then id.
    const older = (m: MessageDoc) => !before || newer(before, m);
    const named = (await load(only.alsoIds)).filter((m) => accept(m) && older(m));
    docs = [...new Map([...docs, ...named].map((m) => [String(m._id), m])).values()].sort((a, b) => (newer(a, b) ? -1 : 1)).slice(0, page.limit + 1);
  }
  const more = docs.length > page.limit;
  const shown = more ? docs.slice(0, page.limit) : docs;
  return { messages: await summariesFor(shown, policy), nextCursor: more ? encodeCursor(shown[shown.length - 1]) : null };
}
