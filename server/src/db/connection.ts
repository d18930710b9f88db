/** Connecting mongoose with the settings every query relies on (the indexes are the models' own: models/index.ts). */
import mongoose from 'mongoose';

// Defence against query selector injection: `$`-keyed objects coming from input are wrapped in `$eq`
// (our own operators are marked with mongoose.trusted()), and unknown paths in filters are dropped.
mongoose.set('sanitizeFilter', true);
mongoose.set('strictQuery', true);
mongoose.set('autoIndex', false);
mongoose.set('autoCreate', false);

/**
 * How often the driver's pool checks it holds its minimum of connections. The driver's own 100 ms (an option it
 * does not take from a connection string or MongoClient options) woke an idle process ten times a second, and with
 * no minimum set (`minPoolSize` 0) the check only prunes connections that outlived `maxIdleTimeMS` (none is set):
 * docs/PERFORMANCE.md, "Idle".
 */
const POOL_CHECK_MS = 10_000;

export async function connectDatabase(uri: string, options: { dbName?: string } = {}): Promise<typeof mongoose> {
  const client = new mongoose.mongo.MongoClient(uri, {
    serverSelectionTimeoutMS: 10_000,
    driverInfo: { name: 'Mongoose', version: mongoose.version },
  });
  // Read when connect() builds the topology and its pools (mongodb's MongoClient#connect); the database name is
  // the one mongoose's setClient takes (else the connection string's).
  Object.assign(client.options, { minPoolSizeCheckFrequencyMS: POOL_CHECK_MS, ...(options.dbName ? { dbName: options.dbName } : {}) });
  await client.connect();
  mongoose.connection.setClient(client);
  return mongoose;
}

export async function databaseAnswers(timeoutMs = 1000): Promise<boolean> {
  const db = mongoose.connection.db;
  if (mongoose.connection.readyState !== 1 || !db) return false;
  try {
    await Promise.race([db.command({ ping: 1 }), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref())]);
    return true;
  } catch {
    return false;
  }
}

export async function disconnectDatabase(): Promise<void> {
  await mongoose.disconnect();
}
