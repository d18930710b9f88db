/**
 * Each test file gets its own database on the run's embedded server (test/helpers/global-setup.ts),
 * with every index created, and drops it afterwards.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { connectDatabase } from '../../server/src/db/connection';
import { ensureIndexes } from '../../server/src/models';

export function useTestDatabase(): { dbName: string } {
  const handle = { dbName: `t_${randomBytes(6).toString('hex')}` };
  beforeAll(async () => {
    const uri = process.env.MONGODB_URI;
    if (!uri) throw new Error('MONGODB_URI is not set: jest globalSetup should have started the embedded database');
    await connectDatabase(uri, { dbName: handle.dbName });
    await ensureIndexes();
  });
  afterAll(async () => {
    await mongoose.connection.db?.dropDatabase().catch(() => {});
    await mongoose.disconnect();
  });
  return handle;
}
