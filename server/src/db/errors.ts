/** True for a MongoDB duplicate-key error (E11000): the "already there" answer of an idempotent insert or claim. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
