/** The one way tenant-owned models are declared: an `orgId` on every document, scoped by the tenant plugin. */
import mongoose, { Schema, type SchemaDefinition, type SchemaOptions } from 'mongoose';
import { tenantScopePlugin } from '../db/tenant';

/**
 * Schemas are built untyped on purpose: letting mongoose infer document types from a spread definition
 * sends the TypeScript checker into minutes of work and gigabytes of memory; each model declares its
 * document interface instead.
 */
export function tenantSchema(definition: SchemaDefinition, options: SchemaOptions = {}): Schema {
  const fullDefinition: SchemaDefinition = { orgId: { type: Schema.Types.ObjectId, required: true, immutable: true }, ...definition };

  const schema: Schema = new Schema<any>(fullDefinition, { timestamps: true, strict: 'throw', ...(options as SchemaOptions<any>) });
  schema.plugin(tenantScopePlugin);
  return schema;
}

/** Every mongoose query that writes: what a hook that must see each write of a model listens to. */
export const QUERY_WRITES: mongoose.MongooseQueryMiddleware[] = [
  'updateOne',
  'updateMany',
  'findOneAndUpdate',
  'findOneAndDelete',
  'findOneAndReplace',
  'replaceOne',
  'deleteOne',
  'deleteMany',
];

/** Reuses a compiled model (jest re-imports modules per test file within one mongoose instance). */
export function model<T>(name: string, schema: Schema): mongoose.Model<T> {
  const existing = mongoose.models[name] as mongoose.Model<T> | undefined;
  return existing ?? mongoose.model<T>(name, schema as Schema<T>);
}

/** Sealed provider secret as stored by the token vault (server/src/auth/vault.ts). */
export const sealedSecret = { v: Number, kid: String, iv: String, tag: String, ct: String };
