/**
 * A fake UrlFetchApp that does real HTTP, synchronously, as Apps Script does: each fetch runs in a child
 * process (fetch-child.mjs) and the caller blocks on it (execFileSync). Honours the parameters the add-on
 * uses — method, headers, payload, contentType, muteHttpExceptions, followRedirects — and records each call.
 * https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app#fetch(String,Object)
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface FetchParams {
  method?: string;
  headers?: Record<string, string>;
  payload?: string;
  contentType?: string;
  muteHttpExceptions?: boolean;
  followRedirects?: boolean;
}

export interface FetchCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  payload?: string;
  status: number;
}

const CHILD = path.join(__dirname, 'fetch-child.mjs');
/** Apps Script gives up on a fetch after about 60 s; a test should not wait that long. */
const TIMEOUT_MS = 15_000;

export function createUrlFetchApp(opts: { allowed?: (url: string) => boolean } = {}) {
  const calls: FetchCall[] = [];
  const UrlFetchApp = {
    fetch(url: string, params: FetchParams = {}) {
      // The real service refuses URLs outside the manifest's urlFetchWhitelist.
      if (opts.allowed && !opts.allowed(url)) throw new Error(`Exception: The URL ${url} is not allowed by the urlFetchWhitelist of the manifest.`);
      const method = (params.method ?? 'get').toUpperCase();
      const headers: Record<string, string> = { ...(params.headers ?? {}) };
      if (params.payload !== undefined) headers['content-type'] = params.contentType ?? 'application/x-www-form-urlencoded';
      let out: Buffer;
      try {
        out = execFileSync(process.execPath, [CHILD], {
          input: JSON.stringify({ url, method, headers, body: params.payload, followRedirects: params.followRedirects ?? true, timeoutMs: TIMEOUT_MS }),
          timeout: TIMEOUT_MS + 5_000,
          maxBuffer: 50 * 1024 * 1024,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
      } catch (err) {
        const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
        throw new Error(`Exception: Address unavailable: ${url} (${stderr.trim()})`);
      }
      const res = JSON.parse(out.toString()) as { status: number; headers: Record<string, string>; body: string };
      const body = Buffer.from(res.body, 'base64');
      calls.push({ url, method, headers, ...(params.payload === undefined ? {} : { payload: params.payload }), status: res.status });
      if (res.status >= 400 && !params.muteHttpExceptions) {
        throw new Error(`Exception: Request failed for ${url} returned code ${res.status}. Truncated server response: ${body.toString().slice(0, 200)}`);
      }
      return {
        getResponseCode: () => res.status,
        getContentText: () => body.toString('utf8'),
        getHeaders: () => ({ ...res.headers }),
        getAllHeaders: () => ({ ...res.headers }),
        getBlob: () => {
          throw new Error('getBlob is not faked');
        },
      };
    },
  };
  return { UrlFetchApp, calls };
}
