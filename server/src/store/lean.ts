/**
 * Reads for the paths a person waits for (the sidebar, the timelines, `why`), sent straight through the MongoDB
 * driver instead of a mongoose query: no filter casting, no document hydration, no query middleware. A mongoose
 * query costs about as much CPU in the server as the embedded database spends answering it (docs/PERFORMANCE.md
 * "Where a sidebar request's time goes"), and these reads are simple: documents by `_id`, or a range of read-model
 * keys, with a projection.
 *
 * What the tenant plugin does for a mongoose query is done here: a tenant-owned model's read is scoped to the
 * organisation in context by a top-level `orgId` equality (and refused outside one). Values are passed as the
 * driver stores them (ObjectId, Date, string): nothing is cast, so a caller gives ids as ObjectIds. The answers are
 * plain documents, as `.lean()` gives them. The reads go through the mongoose connection's collection, so mongoose's
 * debug hook still sees each one (the query-shape tests in test/helpers rely on it).
 */
import type mongoose from 'mongoose';
import type { mongo, Types } from 'mongoose';
import { currentOrgId } from '../db/tenant';

type AnyModel = mongoose.Model<any>;
type Filter = Record<string, unknown>;

/** Whether the model's documents belong to an organisation (declared by models/define.ts tenantSchema). */
const tenantOwned = (model: AnyModel): boolean => model.schema.path('orgId') != null;

/** The filter within the organisation in context; one that names another organisation matches nothing (as the plugin does). */
function scoped(model: AnyModel, filter: Filter): Filter {
  if (!tenantOwned(model)) return filter;
  const orgId = currentOrgId();
  return filter.orgId === undefined || String(filter.orgId) === String(orgId) ? { ...filter, orgId } : { $and: [filter, { orgId }] };
}

export interface LeanOptions {
  projection?: Record<string, 0 | 1>;
  sort?: Record<string, 1 | -1>;
  limit?: number;
}

/** The documents matching `filter` (scoped to the organisation in context), as plain objects. */
export async function leanFind<T>(model: AnyModel, filter: Filter, options: LeanOptions = {}): Promise<T[]> {
  const found: mongo.FindOptions = {};
  if (options.projection) found.projection = options.projection;
  if (options.sort) found.sort = options.sort;
  if (options.limit) found.limit = options.limit;
  return (await model.collection.find(scoped(model, filter) as mongo.Filter<mongo.Document>, found).toArray()) as T[];
}

/** The first document matching `filter` (scoped to the organisation in context), or null. */
export async function leanFindOne<T>(model: AnyModel, filter: Filter, projection?: Record<string, 0 | 1>): Promise<T | null> {
  return (await model.collection.findOne(scoped(model, filter) as mongo.Filter<mongo.Document>, projection ? { projection } : {})) as T | null;
}

/**
 * Documents by `_id` (the `_id` index on both databases), at most 500 a read; the order of the answer is the
 * database's, not the ids'.
 */
export async function leanByIds<T>(model: AnyModel, ids: readonly (Types.ObjectId | string)[], projection?: Record<string, 0 | 1>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    out.push(...(await leanFind<T>(model, slice.length === 1 ? { _id: slice[0] } : { _id: { $in: slice } }, { projection })));
  }
  return out;
}
