/**
 * A Platform for unit tests: the recording CardService and the cache/properties/Gmail fakes from
 * test/fakes/apps-script, and a scripted server (a function of method and path) in place of UrlFetchApp.
 */
import { createCardService } from '../../test/fakes/apps-script/card-service';
import { createCache, createGmailApp, createProperties, type MessageFixture } from '../../test/fakes/apps-script/services';
import { createApi } from './api';
import type { Ctx } from './flows';
import type { FetchRequest, FetchResponse, Platform } from './platform';

export type Route = (req: { method: string; path: string; body: unknown; headers: Record<string, string> }) => FetchResponse;

export const BACKEND = 'https://crm.example.com';

export const json = (status: number, body: unknown): FetchResponse => ({ status, text: body === undefined ? '' : JSON.stringify(body) });

export function testPlatform(route: Route, opts: { messages?: MessageFixture[]; nowMs?: number } = {}) {
  const nowMs = opts.nowMs ?? Date.parse('2026-03-02T10:00:00Z');
  const requests: { method: string; path: string; body: unknown; headers: Record<string, string> }[] = [];
  const { GmailApp: gmail } = createGmailApp(opts.messages ?? []);
  const p: Platform = {
    cardService: createCardService() as unknown as GoogleAppsScript.Card_Service.CardService,
    fetch(url: string, r: FetchRequest) {
      const req = { method: r.method, path: url.slice(BACKEND.length), body: r.payload === undefined ? undefined : JSON.parse(r.payload), headers: r.headers };
      requests.push(req);
      return route(req);
    },
    userCache: createCache(() => nowMs),
    userProperties: createProperties(),
    identityToken: () => 'google-id-token',
    openMessage(token, id) {
      gmail.setCurrentMessageAccessToken(token);
      return gmail.getMessageById(id);
    },
    backendUrl: BACKEND,
    nowMs: () => nowMs,
  };
  const ctx: Ctx = { p, api: createApi(p), userEmail: () => 'rita@threadline.test' };
  return { p, ctx, requests };
}

/** A server that signs anyone in with session `s1`, then `s2`, … */
export function sessions(): Route {
  let n = 0;
  return () => json(200, { token: `s${++n}`, expiresAt: '2026-03-02T11:00:00Z', user: {}, org: {} });
}
