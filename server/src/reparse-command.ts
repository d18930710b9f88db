/**
 * `npm run reparse [-- --unrecorded] [--force] [--limit N] [--org ID]`: stored mail flagged as having needed a
 * fallback, read again by the current MIME reading (sync/refetch/reparse.ts; docs/MIME.md). It uses the
 * configuration and database `npm start` uses; with the embedded database (MONGODB_URI unset) stop the server
 * first, since both would open the same files.
 */
import { Types } from 'mongoose';
import type { Logger } from './logger';
import type { Service } from './server';
import { reparseStoredMail, type ReparseOptions } from './sync/refetch/reparse';

export const REPARSE_USAGE = 'usage: npm run reparse -- [--unrecorded] [--force] [--limit N] [--org ORG_ID]';

/** The options of the command line, or an error message. */
export function reparseArgs(argv: string[]): Omit<ReparseOptions, 'adapters'> | { error: string } {
  const out: Omit<ReparseOptions, 'adapters'> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--unrecorded') out.unrecorded = true;
    else if (arg === '--force') out.force = true;
    else if (arg === '--limit' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) out.limit = Number(argv[++i]);
    else if (arg === '--org' && Types.ObjectId.isValid(argv[i + 1] ?? '')) out.orgId = new Types.ObjectId(argv[++i]);
    else return { error: `unknown or incomplete argument "${arg}"\n${REPARSE_USAGE}` };
  }
  return out;
}

/** Runs the command over a built service; resolves with the process exit code. */
export async function runReparse(service: Pick<Service, 'host'>, options: Omit<ReparseOptions, 'adapters'>, log: Logger): Promise<number> {
  const summary = await reparseStoredMail({
    ...options,
    adapters: service.host.adapters,
    onMessage: (o) => log.info(o, 'reparse'),
  });
  console.log(
    `reparse: ${summary.examined} examined, ${summary.updated} updated, ${summary.unchanged} unchanged, ` +
      `${summary.providerContent} with the provider's own content, ${summary.kept.length} kept as stored`,
  );
  for (const k of summary.kept) console.log(`  kept ${k.messageId}: ${k.reason}`);
  // Kept messages are not an error: they are tried again by the next run.
  return 0;
}
