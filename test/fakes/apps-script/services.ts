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
    remove(key: string): void {
      entries.delete(key);
    },
    removeAll(keys: string[]): void {
      for (const k of keys) entries.delete(k);
    },
    keys: () => [...entries.keys()].filter((k) => cache.get(k) !== null),
  };
  return cache;
}

export function createProperties() {
  const values = new Map<string, string>();
  return {
    getProperty: (key: string) => values.get(key) ?? null,
    setProperty(key: string, value: string) {
      values.set(key, String(value));
      return this;
    },
    deleteProperty(key: string) {
      values.delete(key);
      return this;
    },
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
  /** Only readable with a content scope. */
  body?: string;
}

const SCOPE = 'https://www.googleapis.com/auth/';
export const METADATA_SCOPE = `${SCOPE}gmail.addons.current.message.metadata`;
const CONTENT_SCOPES = [`${SCOPE}gmail.addons.current.message.readonly`, `${SCOPE}gmail.addons.current.message.action`, 'https://mail.google.com/'];
const ACTION_SCOPES = [`${SCOPE}gmail.addons.current.message.action`, 'https://mail.google.com/'];

/**
 * What each GmailMessage method needs. The metadata scope "grants temporary access to the open message's metadata
 * (such as the subject or recipients)" and "doesn't allow reading of message content"
 * (https://developers.google.com/workspace/add-ons/concepts/workspace-scopes): addresses, subject, date, headers.
 * Body, raw content, attachments and the thread (which reaches every message's content) need a content scope;
 * changing the message needs the action scope (https://developers.google.com/apps-script/reference/gmail/gmail-message).
 */
const MESSAGE_METHODS: Record<string, string[]> = {
  getId: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getFrom: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getTo: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getCc: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getBcc: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getReplyTo: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getSubject: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getDate: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getHeader: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getBody: CONTENT_SCOPES,
  getPlainBody: CONTENT_SCOPES,
  getRawContent: CONTENT_SCOPES,
  getAttachments: CONTENT_SCOPES,
  getThread: CONTENT_SCOPES,
  isDraft: CONTENT_SCOPES,
  isInInbox: CONTENT_SCOPES,
  isStarred: CONTENT_SCOPES,
  isUnread: CONTENT_SCOPES,
  markRead: ACTION_SCOPES,
  markUnread: ACTION_SCOPES,
  star: ACTION_SCOPES,
  unstar: ACTION_SCOPES,
  moveToTrash: ACTION_SCOPES,
  reply: ACTION_SCOPES,
  replyAll: ACTION_SCOPES,
  forward: ACTION_SCOPES,
  createDraftReply: ACTION_SCOPES,
  createDraftReplyAll: ACTION_SCOPES,
};
/** GmailApp itself: beyond the open message, every method needs broad Gmail access. */
const APP_METHODS: Record<string, string[]> = {
  setCurrentMessageAccessToken: [METADATA_SCOPE, ...CONTENT_SCOPES],
  getMessageById: [METADATA_SCOPE, ...CONTENT_SCOPES],
  search: ['https://mail.google.com/'],
  getInboxThreads: ['https://mail.google.com/'],
  getThreadById: ['https://mail.google.com/'],
  getMessagesForThread: ['https://mail.google.com/'],
  getUserLabels: ['https://mail.google.com/'],
  sendEmail: ['https://mail.google.com/'],
  createDraft: ['https://mail.google.com/'],
  getAliases: ['https://mail.google.com/'],
};

/** Apps Script's refusal of a call the granted scopes do not cover. */
function permissionCheck(owner: string, table: Record<string, string[]>, granted: readonly string[], calls: string[]) {
  return (name: string) => {
    const needs = table[name];
    if (!needs) throw new TypeError(`${owner}.${name} is not a function`);
    calls.push(`${owner}.${name}`);
    if (!needs.some((s) => granted.includes(s))) {
      throw new Error(`Exception: You do not have permission to call ${owner}.${name}. Required permissions: (${needs.join(' || ')})`);
    }
  };
}

export interface FakeGmailMessage {
  getId(): string;
  getFrom(): string;
  getTo(): string;
  getCc(): string;
  getBcc(): string;
  getReplyTo(): string;
  getSubject(): string;
  getDate(): Date;
  getHeader(name: string): string;
  getPlainBody(): string;
  getBody(): string;
}
export interface FakeGmailApp {
  setCurrentMessageAccessToken(accessToken: string): void;
  getMessageById(id: string): FakeGmailMessage;
}

/**
 * GmailApp as an add-on with `scopes` sees it: one message per id from a fixture, readable only with its per-message
 * token, and only the methods those scopes allow (metadata only, by default: the add-on's manifest). `calls` lists
 * every method the add-on called, allowed or not.
 */
export function createGmailApp(messages: MessageFixture[], opts: { scopes?: readonly string[] } = {}) {
  const granted = opts.scopes ?? [METADATA_SCOPE];
  const calls: string[] = [];
  const appCheck = permissionCheck('GmailApp', APP_METHODS, granted, calls);
  const messageCheck = permissionCheck('GmailMessage', MESSAGE_METHODS, granted, calls);
  let token: string | null = null;
  const guarded = <T extends object>(impl: Partial<T> & Record<string, unknown>, check: (name: string) => void): T =>
    new Proxy(impl, {
      get(target, prop) {
        if (typeof prop !== 'string' || prop === 'then') return undefined;
        check(prop);
        const fn = target[prop];
        if (typeof fn !== 'function') throw new Error(`the fake has no ${prop}`);
        return fn;
      },
    }) as unknown as T;
  const app = guarded<FakeGmailApp>(
    {
      setCurrentMessageAccessToken(accessToken: string) {
        token = accessToken;
      },
      getMessageById(id: string) {
        const m = messages.find((x) => x.id === id);
        if (!m) throw new Error(`Exception: Invalid argument: ${id}`);
        // Without the message's token, the per-message scopes grant nothing.
        if (token !== m.accessToken) throw new Error('Exception: Access denied: : Missing access token for per message scope');
        const header = (name: string) => Object.entries(m.headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? '';
        return guarded<FakeGmailMessage>(
          {
            getId: () => m.id,
            getFrom: () => m.from,
            getTo: () => m.to,
            getCc: () => m.cc ?? '',
            getBcc: () => '',
            getReplyTo: () => m.from,
            getSubject: () => m.subject,
            getDate: () => new Date(header('Date') || 0),
            getHeader: header,
            getPlainBody: () => m.body ?? '',
            getBody: () => m.body ?? '',
          },
          messageCheck,
        );
      },
    },
    appCheck,
  );
  return { GmailApp: app, calls };
}

export function createScriptApp(identityToken: () => string | null) {
  return { getIdentityToken: () => identityToken() };
}

export function createSession(email: string) {
  const user = { getEmail: () => email };
  return { getActiveUser: () => user, getEffectiveUser: () => user };
}
