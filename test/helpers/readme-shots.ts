/**
 * The screenshots README.md shows (docs/screenshots/), written by the browser tests at the moment they show what
 * the picture should, so the pictures follow the product. The files are committed; a test rewrites one only when
 * its bytes changed. A difference never fails a test (fonts and Chromium versions move pixels between machines),
 * and neither does a checkout that cannot be written: the test says so on stderr and goes on.
 * For stable pictures the tests use fixed dates, a fixed viewport, locale and time zone, and hide the caret.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const README_SHOTS_DIR = path.resolve(__dirname, '../../docs/screenshots');

/** Browser-context options that keep a README picture the same from run to run. */
export const STABLE_CONTEXT = { locale: 'en-US', timezoneId: 'UTC', colorScheme: 'light', reducedMotion: 'reduce' } as const;

/** Screenshot options for README pictures: no blinking caret, no half-finished transition. */
export const STABLE_SHOT = { animations: 'disabled', caret: 'hide', scale: 'css' } as const;

/** Writes `docs/screenshots/<name>.png` when it differs; returns whether it was written. */
export function saveReadmeShot(name: string, png: Buffer): boolean {
  const file = path.join(README_SHOTS_DIR, `${name}.png`);
  try {
    if (existsSync(file) && readFileSync(file).equals(png)) return false;
    mkdirSync(README_SHOTS_DIR, { recursive: true });
    writeFileSync(file, png);
    return true;
  } catch (err) {
    process.stderr.write(`README screenshot ${name} not written: ${err instanceof Error ? err.message : String(err)}\n`);
    return false;
  }
}
