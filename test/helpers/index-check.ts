/**
 * Which MongoDB index would serve a query, from the models' declared indexes — a check that needs no MongoDB: a query
 * that no index serves would be a collection scan there. `_id` in the filter is served by the `_id` index (the one
 * index the embedded FerretDB has, too). Otherwise the filter's fields must be the leading fields of a declared index
 * (in any order among themselves, as equality and range predicates on an index prefix are), and each `$or` branch
 * must be served on its own.
 */
import mongoose from 'mongoose';

type Filter = Record<string, unknown>;

function modelOf(collection: string): mongoose.Model<unknown> | undefined {
  return Object.values(mongoose.models).find((m) => m.collection.collectionName === collection) as mongoose.Model<unknown> | undefined;
}

/** The fields a filter constrains at the top level ($and flattened), and its $or branches. */
function fieldsOf(filter: Filter): { fields: Set<string>; ors: Filter[][] } {
  const fields = new Set<string>();
  const ors: Filter[][] = [];
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and')
      for (const f of v as Filter[]) {
        const inner = fieldsOf(f);
        inner.fields.forEach((x) => fields.add(x));
        ors.push(...inner.ors);
      }
    else if (k === '$or') ors.push(v as Filter[]);
    else if (!k.startsWith('$')) fields.add(k);
  }
  return { fields, ors };
}

/** The name of the index serving `filter` on `collection` ('_id_' or the declared index's fields), else null. */
export function servingIndex(collection: string, filter: Filter): string | null {
  const model = modelOf(collection);
  if (!model) throw new Error(`no model for collection ${collection}`);
  const { fields, ors } = fieldsOf(filter);
  if (fields.has('_id')) return '_id_';
  const indexes = model.schema.indexes().map(([keys]) => Object.keys(keys));
  const serves = (wanted: Set<string>) =>
    indexes.find((keys) => wanted.size > 0 && wanted.size <= keys.length && keys.slice(0, wanted.size).every((k) => wanted.has(k)));
  if (ors.length === 0) return serves(fields)?.join('_') ?? null;
  // An $or is served when each branch (with the fields outside it) is: an index union on MongoDB.
  if (ors.length > 1) return null;
  const branches = ors[0].map((b) => servingIndex(collection, { ...Object.fromEntries([...fields].map((f) => [f, 1])), ...b }));
  return branches.every((b) => b !== null) ? branches.join(' | ') : null;
}

const READS = new Set(['find', 'findOne', 'countDocuments', 'distinct', 'findOneAndUpdate', 'updateOne', 'updateMany', 'deleteOne', 'deleteMany']);

/**
 * The recorded operations (test/helpers/query-log.ts) that select documents by a filter no MongoDB index serves,
 * each as `collection.method {filter}`: what a test expects to be empty for a read path that must not scan.
 */
export function unindexedQueries(queries: readonly { collection: string; method: string; filter: Filter }[]): string[] {
  return queries
    .filter((q) => READS.has(q.method) && servingIndex(q.collection, q.filter) === null)
    .map((q) => `${q.collection}.${q.method} ${JSON.stringify(q.filter)}`);
}
