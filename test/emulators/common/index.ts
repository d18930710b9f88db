/**
 * Starts both provider emulators on loopback, each over http and https (one test CA), and gives the
 * configuration (README.md, "Configuration") that points a Threadline server at them.
 *
 * Ports: opts.basePort or EMULATOR_PORT → Google http, +1 Google https, +2 Microsoft http, +3 Microsoft https;
 * otherwise free ports. `https: true` makes `env` use the https URLs (as the real providers are).
 */
import type http from 'node:http';
import { createMicrosoftEmulator, type MicrosoftControl } from '../graph';
import { createGoogleEmulator, type GoogleControl } from '../gmail';
import { serveBoth, type ServedBoth } from './serve';
import { createTestCa } from './tls';

export interface StartEmulatorsOptions {
  basePort?: number;
  /** Point `env` at the https URLs. Default false (plain http). */
  https?: boolean;
  /** No log lines on stderr. */
  quiet?: boolean;
  /** Where Gmail pushes go: `<publicUrl>/webhooks/gmail`. Default: PUBLIC_URL from the environment, else none. */
  publicUrl?: string;
}

export interface GoogleEmulatorHandle {
  control: GoogleControl;
  httpUrl: string;
  httpsUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface MicrosoftEmulatorHandle {
  control: MicrosoftControl;
  httpUrl: string;
  httpsUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface RunningEmulators {
  env: Record<string, string>;
  google: GoogleEmulatorHandle;
  microsoft: MicrosoftEmulatorHandle;
  caFile: string;
  stop(): Promise<void>;
}

export const TEST_MICROSOFT_CLIENT_ID = '6f1c2a4e-0b7d-4c59-9a3e-7d2b1e8f5c01';
export const TEST_MICROSOFT_CLIENT_SECRET = 'threadline-test-microsoft-secret';
export const TEST_PUBSUB_TOPIC = 'projects/threadline-test/topics/gmail';
export const TEST_PUSH_SERVICE_ACCOUNT = 'gmail-push@threadline-test.iam.gserviceaccount.com';
/**
 * Pub/Sub lets a push subscription name its own token audience instead of the endpoint URL; a fixed one lets
 * the printed configuration be complete before the server's URL is known.
 */
export const TEST_PUSH_AUDIENCE = 'https://threadline.test/webhooks/gmail';

function basePortFrom(opts: StartEmulatorsOptions): number | undefined {
  if (opts.basePort !== undefined) return opts.basePort;
  const fromEnv = Number(process.env.EMULATOR_PORT);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : undefined;
}

export async function startEmulators(opts: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  const ca = await createTestCa();
  const tls = { key: ca.serverKeyPem, cert: ca.serverCertPem };
  const base = basePortFrom(opts);
  const port = (offset: number) => (base === undefined ? 0 : base + offset);
  const served: ServedBoth[] = [];
  try {
    // The apps need their own URL (batch callbacks, OData links), known only once they listen.
    let googleServed: ServedBoth | undefined;
    const google = createGoogleEmulator({ baseUrl: () => googleServed!.httpUrl, caPem: ca.caPem });
    const publicUrl = opts.publicUrl ?? process.env.PUBLIC_URL;
    google.control.configurePush({
      audience: TEST_PUSH_AUDIENCE,
      serviceAccountEmail: TEST_PUSH_SERVICE_ACCOUNT,
      ...(publicUrl ? { url: `${publicUrl.replace(/\/$/, '')}/webhooks/gmail` } : {}),
    });
    googleServed = await serveBoth(google.app as http.RequestListener, { httpPort: port(0), httpsPort: port(1), tls });
    served.push(googleServed);

    let microsoftServed: ServedBoth | undefined;
    const microsoftOrigin = () => (opts.https ? microsoftServed!.httpsUrl : microsoftServed!.httpUrl);
    const microsoft = createMicrosoftEmulator({ baseUrl: microsoftOrigin });
    // Directory roles in tokens, as the deployment guide asks of the app registration (adding a tenant to an org).
    microsoft.control.registerApp({ clientId: TEST_MICROSOFT_CLIENT_ID, clientSecret: TEST_MICROSOFT_CLIENT_SECRET, groupMembershipClaims: 'DirectoryRole' });
    microsoftServed = await serveBoth(microsoft.app as http.RequestListener, { httpPort: port(2), httpsPort: port(3), tls });
    served.push(microsoftServed);

    const g = opts.https ? googleServed.httpsUrl : googleServed.httpUrl;
    const m = microsoftOrigin();
    const env: Record<string, string> = {
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_AUTH_URL: `${g}/o/oauth2/v2/auth`,
      GOOGLE_TOKEN_URL: `${g}/token`,
      GOOGLE_REVOKE_URL: `${g}/revoke`,
      GOOGLE_JWKS_URL: `${g}/oauth2/v3/certs`,
      GOOGLE_ID_TOKEN_AUDIENCES: google.clientId,
      GMAIL_API_URL: g,
      GOOGLE_PUBSUB_TOPIC: TEST_PUBSUB_TOPIC,
      GOOGLE_PUSH_AUDIENCE: TEST_PUSH_AUDIENCE,
      GOOGLE_PUSH_SERVICE_ACCOUNT: TEST_PUSH_SERVICE_ACCOUNT,
      MICROSOFT_CLIENT_ID: TEST_MICROSOFT_CLIENT_ID,
      MICROSOFT_CLIENT_SECRET: TEST_MICROSOFT_CLIENT_SECRET,
      MICROSOFT_AUTHORITY: `${m}/common`,
      MICROSOFT_JWKS_URL: `${m}/common/discovery/v2.0/keys`,
      MICROSOFT_ID_TOKEN_AUDIENCES: TEST_MICROSOFT_CLIENT_ID,
      GRAPH_API_URL: m,
      NODE_EXTRA_CA_CERTS: ca.caFile,
    };
    if (!opts.quiet) {
      process.stderr.write(`google emulator: ${googleServed.httpUrl} ${googleServed.httpsUrl}\n`);
      process.stderr.write(`microsoft emulator: ${microsoftServed.httpUrl} ${microsoftServed.httpsUrl}\n`);
    }
    return {
      env,
      caFile: ca.caFile,
      google: {
        control: google.control,
        httpUrl: googleServed.httpUrl,
        httpsUrl: googleServed.httpsUrl,
        clientId: google.clientId,
        clientSecret: google.clientSecret,
      },
      microsoft: {
        control: microsoft.control,
        httpUrl: microsoftServed.httpUrl,
        httpsUrl: microsoftServed.httpsUrl,
        clientId: TEST_MICROSOFT_CLIENT_ID,
        clientSecret: TEST_MICROSOFT_CLIENT_SECRET,
      },
      async stop() {
        google.close();
        await Promise.all(served.map((s) => s.close()));
      },
    };
  } catch (err) {
    await Promise.all(served.map((s) => s.close()));
    throw err;
  }
}
