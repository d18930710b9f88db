/**
 * Runs a built Apps Script bundle (gmail-addon/dist/Code.js) in node:vm with recording fakes of the services
 * it uses, the way Apps Script would: the script is evaluated once, then top-level functions are called by name
 * with an event object. Nothing from Node is visible to the script but these fakes and `console`.
 */
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { createCardService, recorded } from './card-service';
import { createCache, createGmailApp, createProperties, createScriptApp, createSession, type MessageFixture } from './services';
import { createUrlFetchApp } from './url-fetch';

export { recorded } from './card-service';
export type { Recorded } from './card-service';
export type { MessageFixture } from './services';

export interface SandboxOptions {
  userEmail: string;
  messages: MessageFixture[];
  identityToken: () => string | null;
  /** The manifest's urlFetchWhitelist: other URLs are refused as Apps Script does. */
  urlFetchWhitelist?: string[];
  now?: () => number;
  /** The manifest's oauthScopes: GmailApp allows what they allow (by default the metadata scope alone). */
  oauthScopes?: string[];
}

export function createAppsScriptSandbox(opts: SandboxOptions) {
  const now = opts.now ?? Date.now;
  const userCache = createCache(now);
  const userProperties = createProperties();
  const whitelist = opts.urlFetchWhitelist;
  const fetch = createUrlFetchApp(whitelist ? { allowed: (url) => whitelist.some((prefix) => url.startsWith(prefix)) } : {});
  const logs: string[] = [];
  const gmail = createGmailApp(opts.messages, { scopes: opts.oauthScopes });
  const globals = {
    CardService: createCardService(),
    UrlFetchApp: fetch.UrlFetchApp,
    CacheService: { getUserCache: () => userCache, getScriptCache: () => createCache(now), getDocumentCache: () => null },
    PropertiesService: { getUserProperties: () => userProperties },
    GmailApp: gmail.GmailApp,
    ScriptApp: createScriptApp(opts.identityToken),
    Session: createSession(opts.userEmail),
    console: {
      log: (...a: unknown[]) => logs.push(a.join(' ')),
      info: (...a: unknown[]) => logs.push(a.join(' ')),
      warn: (...a: unknown[]) => logs.push(a.join(' ')),
      error: (...a: unknown[]) => logs.push(a.join(' ')),
    },
  };
  const context = vm.createContext({ ...globals });

  return {
    userCache,
    userProperties,
    fetchCalls: fetch.calls,
    /** Every GmailApp / GmailMessage method the script called. */
    gmailCalls: gmail.calls,
    /** The services as the script sees them, for tests that probe a fake directly. */
    globals,
    logs,
    /** Evaluates the bundle as Apps Script loads a project's files. */
    load(codePath: string): void {
      vm.runInContext(readFileSync(codePath, 'utf8'), context, { filename: codePath });
    },
    /** The names of the script's top-level functions. */
    topLevelFunctions(): string[] {
      return Object.keys(context).filter((k) => typeof (context as Record<string, unknown>)[k] === 'function');
    },
    /** Calls a top-level function as a trigger or a card action would, and returns what it built, as JSON. */
    call<T = unknown>(name: string, event: unknown = {}): T {
      const fn = (context as Record<string, unknown>)[name];
      if (typeof fn !== 'function') throw new Error(`the script has no top-level function ${name}`);
      return recorded<T>((fn as (e: unknown) => unknown)(event));
    },
  };
}

export type AppsScriptSandbox = ReturnType<typeof createAppsScriptSandbox>;
