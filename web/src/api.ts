/**
 * Calls to the Threadline API with the session token. Errors become `ApiFailure`s carrying the contract's
 * `{error: {code, message}}`; a 401 signs the tab out and shows the sign-in page.
 */
import { currentSession, signOut } from './session';

export class ApiFailure extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

async function send(method: string, path: string, opts: CallOptions): Promise<Response> {
  const session = currentSession();
  const headers: Record<string, string> = { ...opts.headers };
  if (session) headers.authorization = `Bearer ${session.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal });
  if (res.ok) return res;
  const json = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (res.status === 401) {
    signOut();
    location.hash = '#/signin';
  }
  const retryAfter = res.headers.get('retry-after');
  const message = json?.error?.message ?? `the server answered ${res.status}`;
  throw new ApiFailure(res.status, json?.error?.code ?? 'error', retryAfter ? `${message} (try again in ${retryAfter} s)` : message);
}

export async function api<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const res = await send(method, path, opts);
  return (res.status === 204 ? null : await res.json()) as T;
}

/** Bytes (attachments): fetched with the session, since a plain link cannot carry the bearer token. */
export async function apiBlob(path: string): Promise<Blob> {
  return (await send('GET', path, {})).blob();
}

export const q = (params: Record<string, string | number | undefined | null>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
};
