/**
 * What the add-on needs from Apps Script, as one injected object: the entry points build it from the globals
 * (main.ts) and the unit tests from fakes, so nothing below main.ts touches a global.
 */

export interface KeyValueCache {
  get(key: string): string | null;
  put(key: string, value: string, expirationInSeconds: number): void;
  remove(key: string): void;
}

export interface KeyValueStore {
  getProperty(key: string): string | null;
  setProperty(key: string, value: string): unknown;
  deleteProperty(key: string): unknown;
}

export interface FetchRequest {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  headers: Record<string, string>;
  /** JSON text; only sent with a body-carrying method. */
  payload?: string;
}

export interface FetchResponse {
  status: number;
  text: string;
}

/** The few GmailMessage getters the add-on may call under `gmail.addons.current.message.metadata`. */
export interface OpenMessage {
  getFrom(): string;
  getTo(): string;
  getCc(): string;
  getSubject(): string;
  getHeader(name: string): string;
}

export interface Platform {
  cardService: GoogleAppsScript.Card_Service.CardService;
  fetch(url: string, request: FetchRequest): FetchResponse;
  userCache: KeyValueCache;
  userProperties: KeyValueStore;
  /** `ScriptApp.getIdentityToken()`: null or '' when the `openid` scope is missing. */
  identityToken(): string | null;
  openMessage(accessToken: string, messageId: string): OpenMessage;
  backendUrl: string;
  nowMs(): number;
}
