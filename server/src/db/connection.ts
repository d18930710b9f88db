/** Connecting mongoose with the settings every query relies on (the indexes are the models' own: models/index.ts). */
import mongoose from 'mongoose';

// Defence against query selector injection: `$`-keyed objects coming from input are wrapped in `$eq`
// (our own operators are marked with mongoose.trusted()), and unknown paths in filters are dropped.
mongoose.set('sanitizeFilter', true);
mongoose.set('strictQuery', true);
mongoose.set('autoIndex', false);
mongoose.set('autoCreate', false);

export async function connectDatabase(uri: string, options: { dbName?: string } = {}): Promise<typeof mongoose> {
  await mongoose.connect(uri, { dbName: options.dbName, serverSelectionTimeoutMS: 10_000 });
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
