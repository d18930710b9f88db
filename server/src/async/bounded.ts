/**
 * Bounded concurrency, the one helper for it: provider fetches within a page, MIME parsing and the reconciliation's
 * repairs all go through `mapBounded`.
 */

/**
 * Maps items with at most `limit` running at once, keeping the input order in the result. The first failure is
 * thrown at once (as Promise.all does: the items already running finish on their own) and no new item is started
 * after it: a throttled mailbox should not be asked for the rest of the page.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!(limit >= 1)) throw new RangeError('limit must be at least 1');
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
