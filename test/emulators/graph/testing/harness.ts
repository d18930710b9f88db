/**
 * Test harness for the Microsoft emulator: serves it over http and https with a throwaway CA, signs a user in
 * through the real auth-code + PKCE flow, and runs a small webhook receiver for subscription tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { OutgoingMessage } from '../../../../server/src/sync/providers/port';
import { serveBoth, type ServedBoth } from '../../common/serve';
import { createTestCa, type TestCa } from '../../common/tls';
import { createMicrosoftEmulator, type MicrosoftControl } from '../index';

export interface Harness {
  ca: TestCa;
  served: ServedBoth;
  control: MicrosoftControl;
  close(): Promise<void>;
}

export async function startHarness(opts: { baseUrl: 'http' | 'https' } = { baseUrl: 'https' }): Promise<Harness> {
  const ca = await createTestCa();
  let served: ServedBoth | null = null;
  const { app, control } = createMicrosoftEmulator({
    baseUrl: () => (opts.baseUrl === 'https' ? served?.httpsUrl : served?.httpUrl) ?? '',
  });
  served = await serveBoth(app, { tls: { key: ca.serverKeyPem, cert: ca.serverCertPem } });
  const s = served;
  return { ca, served: s, control, close: () => s.close() };
}

export const pkcePair = (): { verifier: string; challenge: string } => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

export const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
export const REDIRECT_URI = 'http://127.0.0.1:9/oauth/microsoft/callback';
export const SCOPES =
  'openid profile email offline_access https://graph.microsoft.com/Mail.ReadWrite https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/User.Read';

/** Follows authorize without following the redirect: returns the Location the browser would be sent to. */
export async function authorize(origin: string, params: Record<string, string>): Promise<URL> {
  const url = new URL(`${origin}/common/oauth2/v2.0/authorize`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  return new URL(res.headers.get('location') ?? '');
}

export async function tokenRequest(origin: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${origin}/common/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The whole connect flow for one address: returns the token response. */
export async function signIn(origin: string, address: string): Promise<Record<string, unknown>> {
  const { verifier, challenge } = pkcePair();
  const location = await authorize(origin, {
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: SCOPES,
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    login_hint: address,
  });
  const code = location.searchParams.get('code') ?? '';
  const { status, body } = await tokenRequest(origin, {
    client_id: CLIENT_ID,
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
  if (status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  return body;
}

type MessageFields = {
  from: string;
  to: string;
  subject: string;
  text?: string;
  html?: string;
  messageId?: string;
  date?: Date;
  attachments?: { filename: string; content: Buffer; contentType?: string }[];
};

export async function rfc822(fields: MessageFields): Promise<Buffer> {
  return new MailComposer({ ...fields, text: fields.text ?? `Body of ${fields.subject}` }).compile().build();
}

/** A message to send as the outbound stage hands it to a writer: the MIME, and the fields it was composed from. */
export async function outgoing(fields: MessageFields): Promise<Pick<OutgoingMessage, 'raw' | 'fields'>> {
  return {
    raw: await rfc822(fields),
    fields: {
      from: { email: fields.from },
      to: [{ email: fields.to }],
      cc: [],
      bcc: [],
      subject: fields.subject,
      text: fields.text ?? `Body of ${fields.subject}`,
      ...(fields.html !== undefined ? { html: fields.html } : {}),
      attachments: (fields.attachments ?? []).map((a) => ({
        filename: a.filename,
        contentType: a.contentType ?? 'application/octet-stream',
        content: a.content,
      })),
    },
  };
}

export type ValidationMode = 'echo' | 'wrong' | 'error';

/** A webhook endpoint like the product's: echoes validation tokens (or not), records notifications, answers 202. */
export async function startReceiver(): Promise<{
  url: string;
  mode: ValidationMode;
  received: { path: string; body: { value: Record<string, unknown>[] } }[];
  close(): Promise<void>;
}> {
  const state = { mode: 'echo' as ValidationMode, received: [] as { path: string; body: { value: Record<string, unknown>[] } }[] };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const token = url.searchParams.get('validationToken');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (token !== null) {
        if (state.mode === 'error') res.writeHead(500).end();
        else res.writeHead(200, { 'content-type': 'text/plain' }).end(state.mode === 'echo' ? token : 'nope');
        return;
      }
      state.received.push({ path: url.pathname, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as { value: Record<string, unknown>[] } });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get mode() {
      return state.mode;
    },
    set mode(m: ValidationMode) {
      state.mode = m;
    },
    received: state.received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
