/**
 * Versions an organisation keeps of what processes hold copies of: every write of a versioned model, through any
 * mongoose path, moves a counter on the organisation after the write, so a process that keeps a copy reads it again
 * on its next request; in-process, `writes()` moves at once too, so a request that changed a record and then asks
 * for it sees the change.
 *
 * - `peopleVersion`: users and signed-out sessions (store/org-snapshot.ts keeps them).
 * - `recordsVersion`: contacts, companies and deals (store/record-cache.ts keeps the ones sidebars show).
 *
 * A new document needs no copy dropped (no copy of it exists), but it moves the version too: it costs one write
 * per insert, and a reader never has to reason about which writes were safe to skip.
 */
import { type Schema, Types } from 'mongoose';
import { tenantContext } from '../db/tenant';
import { QUERY_WRITES } from './define';
import { Org } from './org';

export type VersionField = 'peopleVersion' | 'recordsVersion';

/**
 * The organisation a query writes in: the request's or run's own (the tenant plugin puts it in the filter), else
 * the one its filter names. A system-context write naming none is given the organisations of what it matched.
 */
function orgOfQuery(filter: Record<string, unknown>): Types.ObjectId | string | null {
  const ctx = tenantContext();
  if (ctx?.kind === 'org') return ctx.orgId;
  const asked = filter.orgId;
  return asked instanceof Types.ObjectId || typeof asked === 'string' ? asked : null;
}

export interface OrgVersion {
  /** Writes of the versioned models in this process so far. */
  writes(): number;
  /** The schema plugin that moves the version after every write. */
  plugin(schema: Schema): void;
}

export function orgVersion(field: VersionField): OrgVersion {
  let writes = 0;
  const bump = async (orgIds: readonly (Types.ObjectId | string | null | undefined)[]): Promise<void> => {
    writes += 1;
    const unique = [...new Set(orgIds.filter((id) => id != null).map(String))];
    for (const id of unique) await Org.updateOne({ _id: id }, { $inc: { [field]: 1 } });
  };
  const key = `_${field}Orgs`;
  return {
    writes: () => writes,
    plugin(schema: Schema) {
      schema.pre(QUERY_WRITES, { document: false, query: true }, async function (this: any) {
        const org = orgOfQuery(this.getFilter());
        this[key] = org ? [org] : await this.model.distinct('orgId', this.getFilter());
      });
      schema.post(QUERY_WRITES, { document: false, query: true }, async function (this: any) {
        await bump(this[key] ?? []);
      });
      schema.post('save', async (doc: { orgId?: Types.ObjectId }) => bump([doc.orgId]));
      schema.post('insertMany', async (docs: { orgId?: Types.ObjectId }[] | { orgId?: Types.ObjectId }) =>
        bump((Array.isArray(docs) ? docs : [docs]).map((d) => d.orgId)),
      );
    },
  };
}
