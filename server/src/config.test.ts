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

  it('says which value is invalid', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ GMAIL_API_URL: 'not a url' })).toThrow(/GMAIL_API_URL/);
    expect(() => loadConfig({ TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/32 bytes/);
  });

  it('reads secrets from NAME_FILE', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    writeFileSync(path.join(dir, 'jwt'), 'x'.repeat(40) + '\n');
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
