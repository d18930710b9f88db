import { createHash, timingSafeEqual } from 'node:crypto';

/** Equal secrets, compared in constant time whatever their lengths (the digests are compared, not the strings). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
