export default async function globalTeardown(): Promise<void> {
  const db = (globalThis as { __threadlineDb?: { stop(): Promise<void> } }).__threadlineDb;
  if (db) await db.stop();
}
