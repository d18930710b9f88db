/**
 * Records every operation mongoose sends while `fn` runs (its debug hook sees each one): what a test checks to
 * prove a read is found by key, or that its cost does not grow with the data.
 */
import mongoose from 'mongoose';

export interface Recorded {
  collection: string;
  method: string;
  filter: Record<string, unknown>;
  options: Record<string, unknown>;
}

export async function recordQueries(fn: () => Promise<unknown>): Promise<Recorded[]> {
  const seen: Recorded[] = [];
  mongoose.set('debug', (collection: string, method: string, ...args: unknown[]) => {
    seen.push({ collection, method, filter: (args[0] ?? {}) as Record<string, unknown>, options: (args[1] ?? {}) as Record<string, unknown> });
  });
  try {
    await fn();
  } finally {
    mongoose.set('debug', false);
  }
  return seen;
}
