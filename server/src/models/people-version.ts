/**
 * The version of an organisation's people: its users (who they are, their role, whether they are disabled, their
 * sharing level, since when their sessions count) and its signed-out sessions. Every write of those two models,
 * through any mongoose path, moves `Org.peopleVersion` after the write, so a process that keeps a copy of them
 * (store/org-snapshot.ts) reads them again on its next request. In-process, `peopleWrites()` moves at once too, so
 * a request that changed a user and then asks for the people sees the change.
 */
import { type Schema, Types } from 'mongoose';
import { tenantContext } from '../db/tenant';
import { QUERY_WRITES } from './define';
import { Org } from './org';

let writes = 0;

/** Writes of people in this process so far (a request's copy of the people is good while this has not moved). */
export const peopleWrites = (): number => writes;

async function bump(orgIds: readonly (Types.ObjectId | string | null | undefined)[]): Promise<void> {
  writes += 1;
  const unique = [...new Set(orgIds.filter((id) => id != null).map(String))];
  for (const id of unique) await Org.updateOne({ _id: id }, { $inc: { peopleVersion: 1 } });
}

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

export function versionsPeople(schema: Schema): void {
  schema.pre(QUERY_WRITES, { document: false, query: true }, async function (this: any) {
    const org = orgOfQuery(this.getFilter());
    this._peopleOrgs = org ? [org] : await this.model.distinct('orgId', this.getFilter());
  });
  schema.post(QUERY_WRITES, { document: false, query: true }, async function (this: any) {
    await bump(this._peopleOrgs ?? []);
  });
  schema.post('save', async (doc: { orgId?: Types.ObjectId }) => bump([doc.orgId]));
  schema.post('insertMany', async (docs: { orgId?: Types.ObjectId }[] | { orgId?: Types.ObjectId }) =>
    bump((Array.isArray(docs) ? docs : [docs]).map((d) => d.orgId)),
  );
}
