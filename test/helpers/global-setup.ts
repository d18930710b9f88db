/**
 * One real embedded database for the whole run (FerretDB, or mongodb-memory-server without Go), in a
 * temporary directory. Each test file takes its own database name from it (test/helpers/db.ts).
 * With MONGODB_URI already set (say, a real MongoDB in CI), that server is used instead.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedDatabase } from '../../server/src/db/embedded';

export default async function globalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'threadline-test-'));
  const db = await startEmbeddedDatabase(dir, (line) => process.stderr.write(`[test db] ${line}\n`));
  process.env.MONGODB_URI = db.uri;
  process.env.THREADLINE_TEST_DB_KIND = db.kind;
  (globalThis as { __threadlineDb?: typeof db }).__threadlineDb = db;
}
