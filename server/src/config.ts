/**
 * Every setting the server reads, declared once: name, type, default and what it means.
 * `loadConfig` validates the environment and says exactly what to set when something is wrong.
 * Secrets may also come from `NAME_FILE` (a path whose content is the value), as container secrets do.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const url = z.string().url();
/**
 * The Graph root: http or https (the Graph client's own token handler works only over https; ours covers http,
 * providers/graph/client.ts), the origin and at most a path prefix. `/v1.0` is appended, so a root ending in a
 * version would call /v1.0/v1.0; a query, fragment or user:password in it would be dropped or leak into every call.
 */
const graphRoot = url.superRefine((value, ctx) => {
  const u = new URL(value);
  const refuse = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (u.protocol !== 'http:' && u.protocol !== 'https:') refuse('must be an http or https URL');
  else if (u.username || u.password) refuse('must not carry a user name or password');
  else if (u.search || u.hash) refuse('must not carry a query or fragment');
  else if (/\/(v1\.0|beta)\/?$/i.test(u.pathname)) refuse('is the root without the version: /v1.0 is appended (drop it from the end)');
});
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
const int = (min: number) => z.coerce.number().int().min(min);
/** One fewer than the CPUs (the event loop keeps one), at least 1 and at most 4. */
const DEFAULT_PARSE_THREADS = Math.min(4, Math.max(1, os.availableParallelism() - 1));

interface Setting<T extends z.ZodTypeAny> {
  schema: T;
  default?: string;
  secret?: boolean;
  description: string;
}
const setting = <T extends z.ZodTypeAny>(s: Setting<T>) => s;

/** The table. Defaults that depend on other settings are filled in `derive` below. */
export const SETTINGS = {
  NODE_ENV: setting({ schema: z.enum(['development', 'production', 'test']), default: 'development', description: 'production enforces required secrets' }),
  PORT: setting({ schema: int(0).max(65535), default: '3000', description: 'HTTP port' }),
  PUBLIC_URL: setting({
    schema: url.optional(),
    description: "the server's public base URL (OAuth redirects, webhooks, add-on manifests); default http://127.0.0.1:$PORT",
  }),
  ROLE: setting({ schema: z.enum(['all', 'api', 'worker']), default: 'all', description: 'what this process runs: API, sync workers, or both (also --role)' }),
  LOG_LEVEL: setting({ schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', description: 'log level' }),
  MONGODB_URI: setting({
    schema: z.string().min(1).optional(),
    secret: true,
    description: 'MongoDB connection string; unset: embedded database under DATA_DIR',
  }),
  DATA_DIR: setting({ schema: z.string().min(1), default: './data', description: 'embedded database files and generated development secrets' }),
  JWT_SECRET: setting({
    schema: z.string().min(32, 'must be at least 32 characters').optional(),
    secret: true,
    description: 'signs session tokens (generated in development)',
  }),
  TOKEN_ENCRYPTION_KEY: setting({
    schema: z.string().optional(),
    secret: true,
    description: '32-byte key, base64, encrypting provider tokens at rest (generated in development)',
  }),
  TOKEN_ENCRYPTION_OLD_KEYS: setting({
    schema: z.string().optional(),
    secret: true,
    description: 'previous keys still accepted for decryption during rotation (comma list of base64)',
  }),
  SESSION_TTL_SECONDS: setting({
    schema: int(60).max(7 * 24 * 3600, 'must be at most 604800 (7 days)'),
    default: '3600',
    description: 'lifetime of a session token (at most 7 days)',
  }),
  SESSION_MAX_AGE_SECONDS: setting({
    schema: int(300).max(30 * 24 * 3600, 'must be at most 2592000 (30 days)'),
    default: '86400',
    description: 'absolute lifetime of a sign-in: sessions renewed through login links end this long after the identity-provider sign-in they came from',
  }),
  RATE_LIMIT_SIGN_IN_FAILURES_PER_MINUTE: setting({
    schema: int(100),
    default: '300',
    description: 'failed sign-ins and login-link redemptions one client address may make a minute before 429 (at least 100)',
  }),
  RATE_LIMIT_ADDRESS_PER_MINUTE: setting({
    schema: int(100),
    default: '12000',
    description: 'requests to the unauthenticated push endpoints one client address may make a minute before 429',
  }),
  RATE_LIMIT_USER_PER_MINUTE: setting({
    schema: int(60),
    default: '6000',
    description:
      'requests one user may make a minute to the expensive routes (sidebar context, why, contact search, connect, the per-email choices) before 429',
  }),
  JSON_BODY_LIMIT: setting({
    schema: z.string().regex(/^\d+(b|kb|mb)$/, 'must be like 512kb or 1mb'),
    default: '512kb',
    description: 'largest JSON body of any request but POST /api/messages',
  }),
  MESSAGE_BODY_LIMIT: setting({
    schema: z.string().regex(/^\d+(b|kb|mb)$/, 'must be like 12mb'),
    default: '12mb',
    description: 'largest JSON body of POST /api/messages (attachments included), read only after authentication',
  }),
  OUTBOX_CONTENT_RETENTION_SECONDS: setting({
    schema: int(0).max(30 * 86_400),
    default: '0',
    description: "how long a sent message's body and attachments stay in the outbox after sending (the row itself stays, for the Idempotency-Key)",
  }),
  METRICS_TOKEN: setting({
    schema: z.string().min(16, 'must be at least 16 characters').optional(),
    secret: true,
    description: 'bearer token GET /metrics requires; required in production on a public address, unset elsewhere: open',
  }),
  ALLOW_EMBEDDED_DATABASE: setting({
    schema: z.enum(['true', 'false']).transform((v) => v === 'true'),
    default: 'false',
    description: 'lets a production server on a public address use the embedded development database (never advisable)',
  }),
  SYNC_POLL_SECONDS: setting({ schema: int(1), default: '60', description: 'polling interval when push is not available' }),
  SYNC_WORKER_CONCURRENCY: setting({
    schema: int(1).max(64),
    default: '8',
    description:
      "mailboxes one worker process syncs at once (each keeps within its provider's per-mailbox limits on its own); lower it to spread mailboxes over more worker processes",
  }),
  SYNC_PARSE_THREADS: setting({
    schema: int(0).max(16),
    default: String(DEFAULT_PARSE_THREADS),
    description:
      'threads a worker process parses MIME on, beside its event loop (0: on the event loop); by default one fewer than the CPUs, at least 1 and at most 4',
  }),
  SYNC_LEASE_SECONDS: setting({
    schema: int(10).max(3600),
    default: '60',
    description:
      "how long a worker holds a mailbox past its last progress write; a crashed worker's mailboxes are taken over after this long (keep it above GRAPH_REQUEST_TIMEOUT_SECONDS)",
  }),
  SYNC_RECONCILE_SECONDS: setting({
    schema: int(60),
    default: '86400',
    description: 'how often each mailbox is reconciled in full against the provider, which finds what push and history missed',
  }),
  SYNC_PUSH_RENEW_BEFORE_SECONDS: setting({
    schema: int(60),
    default: '86400',
    description: 'a Gmail watch or Graph subscription is renewed once it expires within this long',
  }),
  GOOGLE_CLIENT_ID: setting({ schema: z.string().optional(), description: 'OAuth client for Gmail (unset: Google connect disabled)' }),
  GOOGLE_CLIENT_SECRET: setting({ schema: z.string().optional(), secret: true, description: 'OAuth client secret for Gmail' }),
  GOOGLE_AUTH_URL: setting({ schema: url, default: 'https://accounts.google.com/o/oauth2/v2/auth', description: 'Google authorization endpoint' }),
  GOOGLE_TOKEN_URL: setting({ schema: url, default: 'https://oauth2.googleapis.com/token', description: 'Google token endpoint' }),
  GOOGLE_REVOKE_URL: setting({ schema: url, default: 'https://oauth2.googleapis.com/revoke', description: 'Google token revocation' }),
  GOOGLE_JWKS_URL: setting({
    schema: url,
    default: 'https://www.googleapis.com/oauth2/v3/certs',
    description: 'keys for Google-signed ID tokens and Pub/Sub push tokens',
  }),
  GOOGLE_ID_TOKEN_AUDIENCES: setting({
    schema: csv.optional(),
    description: 'accepted aud values for add-on ID tokens (comma list); default GOOGLE_CLIENT_ID',
  }),
  GMAIL_API_URL: setting({ schema: url, default: 'https://gmail.googleapis.com', description: 'Gmail API root' }),
  GMAIL_QUOTA_UNITS_PER_SECOND: setting({
    schema: int(1),
    default: '100',
    description: 'per-user Gmail quota to stay within (250 for projects created before May 2026)',
  }),
  GOOGLE_PUBSUB_TOPIC: setting({ schema: z.string().optional(), description: 'Pub/Sub topic for users.watch; unset: polling' }),
  GOOGLE_PUSH_AUDIENCE: setting({ schema: z.string().optional(), description: 'expected aud of push OIDC tokens; default PUBLIC_URL/webhooks/gmail' }),
  GOOGLE_PUSH_SERVICE_ACCOUNT: setting({
    schema: z.string().optional(),
    description: 'expected email of push OIDC tokens; unset: any (refused in production on a public address when GOOGLE_PUBSUB_TOPIC is set)',
  }),
  MICROSOFT_CLIENT_ID: setting({ schema: z.string().optional(), description: 'app registration for Graph (unset: Microsoft connect disabled)' }),
  MICROSOFT_CLIENT_SECRET: setting({ schema: z.string().optional(), secret: true, description: 'app registration secret' }),
  MICROSOFT_AUTHORITY: setting({
    schema: url,
    default: 'https://login.microsoftonline.com/common',
    description: 'authority base; /oauth2/v2.0/authorize and /oauth2/v2.0/token are appended',
  }),
  MICROSOFT_JWKS_URL: setting({
    schema: url,
    default: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
    description: 'keys for Microsoft-signed tokens',
  }),
  MICROSOFT_ID_TOKEN_AUDIENCES: setting({
    schema: csv.optional(),
    description: 'accepted aud values for add-in tokens (comma list); default MICROSOFT_CLIENT_ID',
  }),
  GRAPH_API_URL: setting({ schema: graphRoot, default: 'https://graph.microsoft.com', description: 'Graph root (/v1.0 is appended)' }),
  GRAPH_SUBSCRIPTION_MINUTES: setting({ schema: int(5), default: '4230', description: 'lifetime asked for Graph mail subscriptions' }),
  GRAPH_REQUEST_TIMEOUT_SECONDS: setting({
    schema: int(1),
    default: '30',
    description: "a Graph request with no answer after this long is abandoned and retried (a stalled connection must not hold one of the mailbox's 4 slots)",
  }),
} as const;

type Settings = typeof SETTINGS;
type Raw = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

export interface Config extends Omit<Raw, 'PUBLIC_URL' | 'GOOGLE_ID_TOKEN_AUDIENCES' | 'MICROSOFT_ID_TOKEN_AUDIENCES' | 'GOOGLE_PUSH_AUDIENCE'> {
  PUBLIC_URL: string;
  GOOGLE_ID_TOKEN_AUDIENCES: string[];
  MICROSOFT_ID_TOKEN_AUDIENCES: string[];
  GOOGLE_PUSH_AUDIENCE: string;
  isProduction: boolean;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const REQUIRED_IN_PRODUCTION = ['JWT_SECRET', 'TOKEN_ENCRYPTION_KEY', 'PUBLIC_URL'] as const;

function readValue(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').trim();
  return undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(SETTINGS) as [string, Setting<z.ZodTypeAny>][]) {
    let value: string | undefined;
    try {
      value = readValue(name, env) ?? def.default;
    } catch (err) {
      problems.push(`${name}_FILE: cannot read (${(err as Error).message})`);
      continue;
    }
    const parsed = def.schema.safeParse(value);
    if (parsed.success) raw[name] = parsed.data;
    else problems.push(`${name}: ${parsed.error.issues[0]?.message ?? 'invalid'} (${def.description})`);
  }
  if (raw.NODE_ENV === 'production') {
    for (const name of REQUIRED_IN_PRODUCTION) {
      if (raw[name] === undefined && !problems.some((p) => p.startsWith(name))) {
        problems.push(`${name} is required in production (${SETTINGS[name].description})`);
      }
    }
  }
  if (raw.NODE_ENV === 'production' && typeof raw.PUBLIC_URL === 'string' && !isLoopbackUrl(raw.PUBLIC_URL)) problems.push(...exposedProductionProblems(raw));
  if (raw.TOKEN_ENCRYPTION_KEY !== undefined && Buffer.from(String(raw.TOKEN_ENCRYPTION_KEY), 'base64').length !== 32) {
    problems.push('TOKEN_ENCRYPTION_KEY: must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  }
  if (problems.length) throw new ConfigError(problems);

  const r = raw as Raw;
  const publicUrl = (r.PUBLIC_URL ?? `http://127.0.0.1:${r.PORT}`).replace(/\/+$/, '');
  return {
    ...r,
    PUBLIC_URL: publicUrl,
    GOOGLE_ID_TOKEN_AUDIENCES: r.GOOGLE_ID_TOKEN_AUDIENCES ?? (r.GOOGLE_CLIENT_ID ? [r.GOOGLE_CLIENT_ID] : []),
    MICROSOFT_ID_TOKEN_AUDIENCES: r.MICROSOFT_ID_TOKEN_AUDIENCES ?? (r.MICROSOFT_CLIENT_ID ? [r.MICROSOFT_CLIENT_ID] : []),
    GOOGLE_PUSH_AUDIENCE: r.GOOGLE_PUSH_AUDIENCE ?? `${publicUrl}/webhooks/gmail`,
    isProduction: r.NODE_ENV === 'production',
  };
}

/** Provider endpoints: https in production unless they are on this machine (a local proxy, an emulator). */
const PROVIDER_URLS = [
  'GOOGLE_AUTH_URL',
  'GOOGLE_TOKEN_URL',
  'GOOGLE_REVOKE_URL',
  'GOOGLE_JWKS_URL',
  'GMAIL_API_URL',
  'MICROSOFT_AUTHORITY',
  'MICROSOFT_JWKS_URL',
  'GRAPH_API_URL',
] as const;

export function isLoopbackUrl(value: string): boolean {
  const host = new URL(value).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * What a production server reachable at a public PUBLIC_URL must not run with (docs/SECURITY.md, "Configuration"):
 * plain http towards the browser or a provider, Gmail push from any sender, open metrics, the development
 * database. A production build on a loopback PUBLIC_URL (a staging box, an end-to-end test) is not exposed, so
 * only the required secrets apply there.
 */
function exposedProductionProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!String(raw.PUBLIC_URL).startsWith('https://'))
    problems.push('PUBLIC_URL: must be https in production (sessions, OAuth codes and webhooks travel over it)');
  for (const name of PROVIDER_URLS) {
    const value = raw[name];
    if (typeof value === 'string' && !value.startsWith('https://') && !isLoopbackUrl(value))
      problems.push(`${name}: must be https in production (${SETTINGS[name].description})`);
  }
  if (raw.GOOGLE_PUBSUB_TOPIC && !raw.GOOGLE_PUSH_SERVICE_ACCOUNT) {
    problems.push(
      'GOOGLE_PUSH_SERVICE_ACCOUNT is required in production with GOOGLE_PUBSUB_TOPIC: the service account your Pub/Sub push subscription authenticates as (otherwise any Google-signed token for the audience is accepted)',
    );
  }
  if (!raw.METRICS_TOKEN) problems.push(`METRICS_TOKEN is required in production (${SETTINGS.METRICS_TOKEN.description})`);
  if (!raw.MONGODB_URI && raw.ALLOW_EMBEDDED_DATABASE !== true) {
    problems.push('MONGODB_URI is required in production: the embedded database is for development (set ALLOW_EMBEDDED_DATABASE=true to run it anyway)');
  }
  return problems;
}

/**
 * Development only: fills JWT_SECRET and TOKEN_ENCRYPTION_KEY from DATA_DIR/secrets.json, generating them
 * the first time, so that sessions and stored tokens survive restarts.
 */
export async function withDevelopmentSecrets(config: Config): Promise<Config> {
  if (config.JWT_SECRET && config.TOKEN_ENCRYPTION_KEY) return config;
  if (config.isProduction) throw new ConfigError(['secrets are never generated in production']);
  const file = path.join(config.DATA_DIR, 'secrets.json');
  let stored: { JWT_SECRET?: string; TOKEN_ENCRYPTION_KEY?: string } = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    /* first start */
  }
  const next = {
    JWT_SECRET: stored.JWT_SECRET ?? randomBytes(48).toString('base64url'),
    TOKEN_ENCRYPTION_KEY: stored.TOKEN_ENCRYPTION_KEY ?? randomBytes(32).toString('base64'),
  };
  if (next.JWT_SECRET !== stored.JWT_SECRET || next.TOKEN_ENCRYPTION_KEY !== stored.TOKEN_ENCRYPTION_KEY) {
    await mkdir(config.DATA_DIR, { recursive: true });
    await writeFile(file, JSON.stringify(next, null, 2), { mode: 0o600 });
  }
  return { ...config, JWT_SECRET: config.JWT_SECRET ?? next.JWT_SECRET, TOKEN_ENCRYPTION_KEY: config.TOKEN_ENCRYPTION_KEY ?? next.TOKEN_ENCRYPTION_KEY };
}

/** Names of settings whose values must never be logged. */
export const SECRET_SETTINGS = Object.entries(SETTINGS)
  .filter(([, s]) => 'secret' in s && s.secret)
  .map(([n]) => n);
