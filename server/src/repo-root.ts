import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest folder above `from` with a package.json (code runs bundled or not). */
export function repoRoot(from: string): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}
