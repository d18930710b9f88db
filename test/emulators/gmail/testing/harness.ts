/**
 * Test harness for the Google emulator: one emulator over http and https, the real `@googleapis/gmail` and
 * `google-auth-library` clients pointed at it, and a sign-in through the real PKCE code flow.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gmail, type gmail_v1 } from '@googleapis/gmail';
import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { createNodeFetch } from '../../common/fetch';
import { serveBoth, type ServedBoth } from '../../common/serve';
import { createTestCa, type TestCa } from '../../common/tls';
import { createGoogleEmulator, type GoogleEmulator } from '../index';

export const REDIRECT_URI = 'http://127.0.0.1:9/oauth/google/callback';
export const GMAIL_SCOPES = ['openid', 'email', 'https://www.googleapis.com/auth/gmail.modify'];

export interface GoogleHarness {
  ca: TestCa;
  emulator: GoogleEmulator;
  served: ServedBoth;
  fetchImpl: typeof fetch;
  oauthClient(origin?: string): OAuth2Client;
  gmailFor(auth: OAuth2Client, origin?: string): gmail_v1.Gmail;
  /** Signs the address in through the PKCE code flow; returns an authorised client and its tokens. */
  signIn(email: string, origin?: string): Promise<{ auth: OAuth2Client; api: gmail_v1.Gmail; refreshToken: string }>;
  stop(): Promise<void>;
}

let shared: Promise<TestCa> | undefined;

export async function startGoogleHarness(): Promise<GoogleHarness> {
  // One CA per test file is plenty; generating RSA keys is the slow part of start-up.
  shared ??= createTestCa();
  const ca = await shared;
  let served: ServedBoth | undefined;
  const emulator = createGoogleEmulator({ baseUrl: () => served!.httpUrl, caPem: ca.caPem });
  served = await serveBoth(emulator.app as http.RequestListener, { tls: { key: ca.serverKeyPem, cert: ca.serverCertPem } });
  const fetchImpl = createNodeFetch({ ca: ca.caPem });
  const origin = served.httpUrl;

  const oauthClient = (base = origin) =>
    new OAuth2Client({
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      redirectUri: REDIRECT_URI,
      endpoints: {
        oauth2AuthBaseUrl: `${base}/o/oauth2/v2/auth`,
        oauth2TokenUrl: `${base}/token`,
        oauth2RevokeUrl: `${base}/revoke`,
        oauth2FederatedSignonJwkCertsUrl: `${base}/oauth2/v3/certs`,
      },
      // gaxios would import node-fetch dynamically, which jest's CommonJS runtime refuses (common/fetch.ts).
      transporterOptions: { fetchImplementation: fetchImpl },
    });
  // @googleapis/gmail types its `auth` against googleapis-common's own nested copy of google-auth-library
  // (10.5 there, 10.9 at the top level): same runtime class, distinct declarations, hence the cast.
  const gmailFor = (auth: OAuth2Client, base = origin) =>
    gmail({ version: 'v1', auth: auth as unknown as gmail_v1.Options['auth'], rootUrl: `${base}/`, retry: false, fetchImplementation: fetchImpl });

  return {
    ca,
    emulator,
    served,
    fetchImpl,
    oauthClient,
    gmailFor,
    async signIn(email, base = origin) {
      const auth = oauthClient(base);
      const { codeVerifier, codeChallenge } = await auth.generateCodeVerifierAsync();
      const url = auth.generateAuthUrl({
        access_type: 'offline',
        prompt: 'consent',
        scope: GMAIL_SCOPES,
        state: 'state-1',
        login_hint: email,
        code_challenge: codeChallenge,
        code_challenge_method: CodeChallengeMethod.S256,
      });
      const answer = await fetchImpl(url, { redirect: 'manual' });
      const code = new URL(answer.headers.get('location') ?? '').searchParams.get('code');
      if (!code) throw new Error(`no code in ${answer.headers.get('location')}`);
      const { tokens } = await auth.getToken({ code, codeVerifier });
      auth.setCredentials(tokens);
      return { auth, api: gmailFor(auth, base), refreshToken: tokens.refresh_token ?? '' };
    },
    async stop() {
      emulator.close();
      await served!.close();
    },
  };
}

/** An RFC 5322 message built by nodemailer's composer. */
export function rfc822(options: Mail.Options): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

/** A stand-in for the product's /webhooks/gmail: records each push, answers 204. */
export async function startPushReceiver(): Promise<{
  url: string;
  received: Array<{ headers: http.IncomingHttpHeaders; body: Record<string, unknown> }>;
  close(): Promise<void>;
}> {
  const received: Array<{ headers: http.IncomingHttpHeaders; body: Record<string, unknown> }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/gmail`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
