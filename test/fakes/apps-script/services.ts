/**
 * Fakes of the small Apps Script services: CacheService (expiry and the documented size limits),
 * PropertiesService, GmailApp (one message per id from a fixture, readable only with its access token, as the
 * metadata scope requires), ScriptApp (an identity token the test mints) and Session.
 */

/** https://developers.google.com/apps-script/reference/cache/cache: keys ≤ 250 chars, values ≤ 100 KB, ≤ 6 h. */
export function createCache(now: () => number) {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const cache = {
    get(key: string): string | null {
      const e = entries.get(key);
      if (!e || e.expiresAt <= now()) return null;
      return e.value;
    },
    put(key: string, value: string, ttlSeconds = 600): void {
      if (key.length > 250) throw new Error(`Exception: Argument too large: key (${key.length} characters)`);
      if (Buffer.byteLength(value) > 100 * 1024) throw new Error('Exception: Argument too large: value');
      if (ttlSeconds > 21600) throw new Error('Exception: expirationInSeconds is greater than 21600');
      entries.set(key, { value, expiresAt: now() + ttlSeconds * 1000 });
    },
    remove(key: string): void { entries.delete(key); },
    removeAll(keys: string[]): void { for (const k of keys) entries.delete(k); },
    keys: () => [...entries.keys()].filter((k) => cache.get(k) !== null),
  };
  return cache;
}

export function createProperties() {
  const values = new Map<string, string>();
  return {
    getProperty: (key: string) => values.get(key) ?? null,
    setProperty(key: string, value: string) { values.set(key, String(value)); return this; },
    deleteProperty(key: string) { values.delete(key); return this; },
    getProperties: () => Object.fromEntries(values),
  };
}

export interface MessageFixture {
  id: string;
  /** The per-message token Gmail puts in the event (`e.gmail.accessToken`). */
  accessToken: string;
  from: string;
  to: string;
  cc?: string;
  subject: string;
  headers: Record<string, string>;
}

export function createGmailApp(messages: MessageFixture[]) {
  let token: string | null = null;
  const GmailApp = {
    setCurrentMessageAccessToken(accessToken: string) { token = accessToken; },
    getMessageById(id: string) {
      const m = messages.find((x) => x.id === id);
      if (!m) throw new Error(`Exception: Invalid argument: ${id}`);
      // Without the message's token, the metadata scope grants nothing.
      if (token !== m.accessToken) throw new Error('Exception: Access denied: : Missing access token for per message scope');
      const header = (name: string) => Object.entries(m.headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? '';
      return {
        getId: () => m.id,
        getFrom: () => m.from,
        getTo: () => m.to,
        getCc: () => m.cc ?? '',
        getSubject: () => m.subject,
        getHeader: header,
        getPlainBody: () => { throw new Error('Exception: the add-on has no scope to read message bodies'); },
      };
    },
  };
  return GmailApp;
}

export function createScriptApp(identityToken: () => string | null) {
  return { getIdentityToken: () => identityToken() };
}

export function createSession(email: string) {
  const user = { getEmail: () => email };
  return { getActiveUser: () => user, getEffectiveUser: () => user };
}
