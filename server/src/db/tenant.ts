/**
 * Tenant isolation, enforced in one place: every query of a tenant-owned model runs inside an
 * organisation context (AsyncLocalStorage) and is scoped to that organisation's `orgId` by a schema
 * plugin. Without a context it fails closed. Work that spans organisations (the poll sweep, webhook
 * routing by address) says so explicitly with `runAsSystem(reason, fn)`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type mongoose from 'mongoose';
import { Schema, Types } from 'mongoose';

export type TenantContext = { kind: 'org'; orgId: Types.ObjectId } | { kind: 'system'; reason: string };

const storage = new AsyncLocalStorage<TenantContext>();

export class TenantScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantScopeError';
  }
}

/**
 * Runs `fn` in an organisation's context. The result is awaited inside the context on purpose: mongoose
 * queries are lazy thenables, so `runInOrg(id, () => Model.find())` must execute the query before leaving.
 */
export function runInOrg<T>(orgId: Types.ObjectId | string, fn: () => T | PromiseLike<T>): Promise<T> {
  return storage.run({ kind: 'org', orgId: new Types.ObjectId(String(orgId)) }, async () => await fn());
}

export function runAsSystem<T>(reason: string, fn: () => T | PromiseLike<T>): Promise<T> {
  return storage.run({ kind: 'system', reason }, async () => await fn());
}

/** For middleware: the rest of this asynchronous flow (an HTTP request) runs in the organisation's context. */
export function enterOrg(orgId: Types.ObjectId | string, next: () => void): void {
  storage.run({ kind: 'org', orgId: new Types.ObjectId(String(orgId)) }, next);
}

export function tenantContext(): TenantContext | undefined {
  return storage.getStore();
}

/** The organisation of the current context; throws outside one. */
export function currentOrgId(): Types.ObjectId {
  const ctx = storage.getStore();
  if (ctx?.kind !== 'org') throw new TenantScopeError('no organisation in context');
  return ctx.orgId;
}

function requireContext(model: string, op: string): TenantContext {
  const ctx = storage.getStore();
  if (!ctx) throw new TenantScopeError(`${model}.${op} outside a tenant context: wrap it in runInOrg() or runAsSystem()`);
  return ctx;
}

const QUERY_OPS: mongoose.MongooseQueryMiddleware[] = [
  'countDocuments',
  'deleteMany',
  'deleteOne',
  'distinct',
  'find',
  'findOne',
  'findOneAndDelete',
  'findOneAndReplace',
  'findOneAndUpdate',
  'replaceOne',
  'updateMany',
  'updateOne',
];

function sameOrg(a: unknown, b: Types.ObjectId): boolean {
  return a != null && String(a) === String(b);
}

/** Schema plugin for tenant-owned models: adds `orgId` and scopes every operation to the context's org. */
export function tenantScopePlugin(schema: Schema): void {
  if (!schema.path('orgId')) schema.add({ orgId: { type: Schema.Types.ObjectId, required: true, immutable: true } });

  schema.pre(QUERY_OPS, { document: false, query: true }, function (this: mongoose.Query<unknown, unknown>) {
    const ctx = requireContext(this.model.modelName, (this as unknown as { op?: string }).op ?? 'query');
    if (ctx.kind !== 'org') return;
    const asked = this.getFilter().orgId;
    // A top-level equality, so upserts insert it too; a filter that names another org matches nothing.
    if (asked === undefined || sameOrg(asked, ctx.orgId)) this.where({ orgId: ctx.orgId });
    else this.and([{ orgId: ctx.orgId }]);
  });

  schema.pre('estimatedDocumentCount', function (this: mongoose.Query<unknown, unknown>) {
    const ctx = requireContext(this.model.modelName, 'estimatedDocumentCount');
    if (ctx.kind === 'org') throw new TenantScopeError('estimatedDocumentCount cannot be scoped to an organisation; use countDocuments');
  });

  schema.pre('aggregate', function (this: mongoose.Aggregate<unknown>) {
    const ctx = requireContext((this as unknown as { _model: mongoose.Model<unknown> })._model.modelName, 'aggregate');
    if (ctx.kind === 'org') this.pipeline().unshift({ $match: { orgId: ctx.orgId } });
  });

  // 'validate' runs before mongoose's own validation (which would report a missing orgId first), and
  // 'save' again in case validation was skipped.
  schema.pre(['validate', 'save'], function (this: mongoose.Document & { orgId?: Types.ObjectId }) {
    const ctx = requireContext((this.constructor as mongoose.Model<unknown>).modelName, 'save');
    if (ctx.kind === 'system') {
      if (!this.orgId) throw new TenantScopeError('a document saved in system context must carry its orgId');
      return;
    }
    if (!this.orgId) this.orgId = ctx.orgId;
    else if (!sameOrg(this.orgId, ctx.orgId)) throw new TenantScopeError('document belongs to another organisation');
  });

  schema.pre('insertMany', function (this: mongoose.Model<unknown>, next: (err?: Error) => void, docs: unknown) {
    const ctx = requireContext(this.modelName, 'insertMany');
    for (const doc of (Array.isArray(docs) ? docs : [docs]) as { orgId?: Types.ObjectId }[]) {
      if (ctx.kind === 'system') {
        if (!doc.orgId) return next(new TenantScopeError('documents inserted in system context must carry their orgId'));
      } else if (!doc.orgId) doc.orgId = ctx.orgId;
      else if (!sameOrg(doc.orgId, ctx.orgId)) return next(new TenantScopeError('document belongs to another organisation'));
    }
    next();
  });

  schema.pre('bulkWrite', function (this: mongoose.Model<unknown>, next: (err?: Error) => void, ops: unknown) {
    const ctx = requireContext(this.modelName, 'bulkWrite');
    if (ctx.kind === 'system') return next();
    for (const op of ops as Record<string, { filter?: Record<string, unknown>; document?: Record<string, unknown> }>[]) {
      const [kind, body] = Object.entries(op)[0];
      if (kind === 'insertOne') {
        if (!body.document!.orgId) body.document!.orgId = ctx.orgId;
        else if (!sameOrg(body.document!.orgId, ctx.orgId)) return next(new TenantScopeError('document belongs to another organisation'));
      } else if (body.filter) {
        body.filter.orgId = ctx.orgId;
      }
    }
    next();
  });
}
