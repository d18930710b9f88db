import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, withDevelopmentSecrets } from './config';

describe('config', () => {
  it('has working defaults in development', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.PUBLIC_URL).toBe('http://127.0.0.1:3000');
    expect(c.GMAIL_API_URL).toBe('https://gmail.googleapis.com');
    expect(c.GOOGLE_PUSH_AUDIENCE).toBe('http://127.0.0.1:3000/webhooks/gmail');
    expect(c.GOOGLE_ID_TOKEN_AUDIENCES).toEqual([]);
  });

  it('refuses to start in production without the required secrets, and names each', () => {
    try {
      loadConfig({ NODE_ENV: 'production' });
      throw new Error('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const name of ['JWT_SECRET', 'TOKEN_ENCRYPTION_KEY', 'PUBLIC_URL']) expect(msg).toContain(name);
    }
  });

  describe('production on a public address', () => {
    const base = {
      NODE_ENV: 'production',
      JWT_SECRET: 'j'.repeat(40),
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      PUBLIC_URL: 'https://crm.example.com',
      MONGODB_URI: 'mongodb://db.internal:27017/threadline',
      METRICS_TOKEN: 'm'.repeat(24),
    };
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };

    it('starts with https, a database, a metrics token and (with push) the push service account', () => {
      expect(problems(base)).toEqual([]);
      expect(problems({ ...base, GOOGLE_PUBSUB_TOPIC: 'projects/p/topics/gmail', GOOGLE_PUSH_SERVICE_ACCOUNT: 'push@p.iam.gserviceaccount.com' })).toEqual([]);
    });

    it.each([
      ['PUBLIC_URL', { PUBLIC_URL: 'http://crm.example.com' }],
      ['GMAIL_API_URL', { GMAIL_API_URL: 'http://gmail.example.com' }],
      ['GRAPH_API_URL', { GRAPH_API_URL: 'http://graph.example.com' }],
      ['MICROSOFT_AUTHORITY', { MICROSOFT_AUTHORITY: 'http://login.example.com/common' }],
      ['GOOGLE_PUSH_SERVICE_ACCOUNT', { GOOGLE_PUBSUB_TOPIC: 'projects/p/topics/gmail' }],
      ['METRICS_TOKEN', { METRICS_TOKEN: '' }],
      ['MONGODB_URI', { MONGODB_URI: '' }],
    ])('refuses to start, naming %s', (name, change) => {
      const found = problems({ ...base, ...change } as Record<string, string>);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(new RegExp(`^${name}`));
    });

    it('runs the embedded database only when explicitly allowed', () => {
      expect(problems({ ...base, MONGODB_URI: '', ALLOW_EMBEDDED_DATABASE: 'true' })).toEqual([]);
    });

    it('keeps only the required secrets on a loopback address (staging box, end-to-end tests)', () => {
      expect(
        problems({
          NODE_ENV: 'production',
          JWT_SECRET: base.JWT_SECRET,
          TOKEN_ENCRYPTION_KEY: base.TOKEN_ENCRYPTION_KEY,
          PUBLIC_URL: 'http://127.0.0.1:8080',
          GMAIL_API_URL: 'http://127.0.0.1:9000',
        }),
      ).toEqual([]);
    });

    it('caps the session lifetime', () => {
      expect(problems({ SESSION_TTL_SECONDS: String(30 * 24 * 3600) })[0]).toMatch(/^SESSION_TTL_SECONDS: must be at most 604800/);
    });
  });

  it('declares the sync engine knobs in the table, with the values the engine used before they were settings', () => {
    expect(loadConfig({})).toMatchObject({
      SYNC_WORKER_CONCURRENCY: 8,
      SYNC_LEASE_SECONDS: 60,
      SYNC_RECONCILE_SECONDS: 86_400,
      SYNC_PUSH_RENEW_BEFORE_SECONDS: 86_400,
    });
    expect(loadConfig({ SYNC_LEASE_SECONDS: '120', SYNC_RECONCILE_SECONDS: '3600', SYNC_PUSH_RENEW_BEFORE_SECONDS: '7200' })).toMatchObject({
      SYNC_LEASE_SECONDS: 120,
      SYNC_RECONCILE_SECONDS: 3600,
      SYNC_PUSH_RENEW_BEFORE_SECONDS: 7200,
    });
    // A lease shorter than a slow provider call would hand a running mailbox to a second worker.
    expect(() => loadConfig({ SYNC_LEASE_SECONDS: '5' })).toThrow(/SYNC_LEASE_SECONDS/);
  });

  it('says which value is invalid', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ GMAIL_API_URL: 'not a url' })).toThrow(/GMAIL_API_URL/);
    // A Graph root that cannot work is refused naming the variable; http and https roots (with a path prefix) both work.
    expect(() => loadConfig({ GRAPH_API_URL: 'https://graph.microsoft.com/v1.0' })).toThrow(/GRAPH_API_URL: is the root without the version/);
    expect(() => loadConfig({ GRAPH_API_URL: 'http://127.0.0.1:4000/v1.0/' })).toThrow(/GRAPH_API_URL/);
    expect(() => loadConfig({ GRAPH_API_URL: 'ftp://graph.example.com' })).toThrow(/GRAPH_API_URL: must be an http or https URL/);
    expect(() => loadConfig({ GRAPH_API_URL: 'https://user:pw@graph.example.com' })).toThrow(/GRAPH_API_URL: must not carry a user name/);
    expect(() => loadConfig({ GRAPH_API_URL: 'https://graph.example.com/?tenant=x' })).toThrow(/GRAPH_API_URL: must not carry a query/);
    expect(loadConfig({ GRAPH_API_URL: 'http://127.0.0.1:4000' }).GRAPH_API_URL).toBe('http://127.0.0.1:4000');
    expect(loadConfig({ GRAPH_API_URL: 'https://proxy.example.com/graph' }).GRAPH_API_URL).toBe('https://proxy.example.com/graph');
    expect(() => loadConfig({ TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/32 bytes/);
  });

  it('reads secrets from NAME_FILE', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    writeFileSync(path.join(dir, 'jwt'), `${'x'.repeat(40)}\n`);
    expect(loadConfig({ JWT_SECRET_FILE: path.join(dir, 'jwt') }).JWT_SECRET).toBe('x'.repeat(40));
  });

  it('derives audiences from the client ids and splits comma lists', () => {
    expect(loadConfig({ GOOGLE_CLIENT_ID: 'abc' }).GOOGLE_ID_TOKEN_AUDIENCES).toEqual(['abc']);
    expect(loadConfig({ MICROSOFT_ID_TOKEN_AUDIENCES: 'a, b' }).MICROSOFT_ID_TOKEN_AUDIENCES).toEqual(['a', 'b']);
  });

  it('generates development secrets once and keeps them', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const first = await withDevelopmentSecrets(loadConfig({ DATA_DIR: dir }));
    const second = await withDevelopmentSecrets(loadConfig({ DATA_DIR: dir }));
    expect(first.JWT_SECRET).toBeTruthy();
    expect(Buffer.from(first.TOKEN_ENCRYPTION_KEY!, 'base64')).toHaveLength(32);
    expect(second.JWT_SECRET).toBe(first.JWT_SECRET);
    expect(second.TOKEN_ENCRYPTION_KEY).toBe(first.TOKEN_ENCRYPTION_KEY);
  });
});
