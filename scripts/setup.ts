/**
 * `npm ci` runs this (postinstall): it prepares the embedded database so that `npm start` and `npm test`
 * need nothing by hand. It never fails the install: without Go the server falls back to
 * mongodb-memory-server at start, and says so.
 */
import { ensureFerretdbBinary, goAvailable } from '../server/src/db/ferretdb-binary';

async function main(): Promise<void> {
  if (process.env.MONGODB_URI) {
    console.log('[setup] MONGODB_URI is set: the embedded database is not needed.');
    return;
  }
  if (!process.env.FERRETDB_BIN && !(await goAvailable())) {
    console.log('[setup] Go is not installed: the embedded database will be mongodb-memory-server (a real mongod, downloaded on first use).');
    return;
  }
  const bin = await ensureFerretdbBinary((line) => console.log(`[setup] ${line}`));
  console.log(`[setup] embedded database ready: ${bin}`);
}

main().catch((err: Error) => {
  console.error(`[setup] ${err.message}`);
  console.error('[setup] The embedded database could not be prepared; set MONGODB_URI to use your own MongoDB.');
});
