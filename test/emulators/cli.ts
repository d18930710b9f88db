/**
 * `npm run emulators`: start the Google and Microsoft emulators, print the KEY=value lines that point a
 * server at them (stdout, nothing else there), and run until SIGINT/SIGTERM.
 * Options: EMULATOR_PORT=<first port>, `--https` (env uses the https URLs).
 */
import { startEmulators } from './common/index';

async function main(): Promise<void> {
  const running = await startEmulators({ https: process.argv.includes('--https') });
  for (const [key, value] of Object.entries(running.env)) process.stdout.write(`${key}=${value}\n`);
  const shutdown = (): void => {
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulators failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
