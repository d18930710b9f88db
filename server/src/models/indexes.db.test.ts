/**
 * The indexes ensureIndexes builds on the database the tests run on: on FerretDB only the unique ones (the others
 * would be evaluated on every write and serve no query), on MongoDB every declared one. A non-unique index left
 * by an earlier version is dropped on FerretDB, and the unique ones still refuse a duplicate.
 */
import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { ensureIndexes, Message, Org } from '.';

useTestDatabase();

const keysOf = (spec: Record<string, unknown>) =>
  Object.entries(spec)
    .map(([k, v]) => `${k}:${v}`)
    .join(',');

async function onFerretdb(): Promise<boolean> {
  const info = await mongoose.connection.db!.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string';
}

async function builtIndexes(model: mongoose.Model<unknown>): Promise<string[]> {
  const indexes = await model.collection.indexes();
  return indexes
    .filter((i) => i.name !== '_id_')
    .map((i) => keysOf(i.key))
    .sort();
}

it('builds the indexes this database uses: unique only on FerretDB, every declared one on MongoDB', async () => {
  const uniqueOnly = await onFerretdb();
  for (const model of [Org, Message] as mongoose.Model<unknown>[]) {
    const declared = model.schema.indexes().filter(([, options]) => !uniqueOnly || options?.unique);
    expect(await builtIndexes(model)).toEqual(declared.map(([keys]) => keysOf(keys)).sort());
  }
  if (uniqueOnly) expect(await builtIndexes(Message as mongoose.Model<unknown>)).toEqual(['orgId:1,dedupKey:1']);
});

it('drops a non-unique index an earlier version built on FerretDB, and keeps refusing duplicates', async () => {
  if (!(await onFerretdb())) return;
  await Message.collection.createIndex({ orgId: 1, participants: 1, date: -1 });
  await ensureIndexes();
  expect(await builtIndexes(Message as mongoose.Model<unknown>)).toEqual(['orgId:1,dedupKey:1']);

  const doc = { orgId: new Types.ObjectId(), dedupKey: 'mid:<dup@indexes.test>' };
  await Message.collection.insertOne({ ...doc });
  await expect(Message.collection.insertOne({ ...doc })).rejects.toMatchObject({ code: 11000 });
});
