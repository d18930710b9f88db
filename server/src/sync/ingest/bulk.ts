/** Batched, idempotent inserts: the write primitive of the ingest (see models/ids.ts for why inserts rather than upserts). */
import type { Model } from 'mongoose';

export interface InsertOutcome {
  /** Indexes (into the input) of documents that were written now. */
  inserted: number[];
  /** Indexes of documents that already existed (duplicate key on `_id` or another unique index). */
  existing: number[];
  /** Indexes of documents the database refused for another reason, with its message (a poison item). */
  failed: { index: number; message: string }[];
}

interface WriteErrorLike {
  index: number;
  code?: number;
  errmsg?: string;
  err?: { code?: number; errmsg?: string };
}

/**
 * Inserts every document in one unordered batch: one bad or existing document never stops the others. Validation is
 * skipped on purpose (`lean`): the documents are built by our own code with the schema's types, and mongoose's
 * per-document validation would cost more than the insert itself.
 */
export async function insertIdempotent<T>(model: Model<T>, docs: Record<string, unknown>[]): Promise<InsertOutcome> {
  const out: InsertOutcome = { inserted: [], existing: [], failed: [] };
  if (docs.length === 0) return out;
  let errors: WriteErrorLike[] = [];
  try {
    await model.insertMany(docs, { ordered: false, lean: true });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: WriteErrorLike[] | WriteErrorLike }).writeErrors;
    if (writeErrors === undefined) throw err;
    errors = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
  }
  const byIndex = new Map(errors.map((e) => [e.index, e]));
  docs.forEach((_, i) => {
    const e = byIndex.get(i);
    if (!e) out.inserted.push(i);
    else if ((e.code ?? e.err?.code) === 11000) out.existing.push(i);
    else out.failed.push({ index: i, message: String(e.errmsg ?? e.err?.errmsg ?? 'write failed').slice(0, 300) });
  });
  return out;
}
