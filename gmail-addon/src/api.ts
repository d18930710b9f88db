/**
 * JSON calls to the Threadline API with the user's session. A 401 means the session expired or the server's
 * key rotated: sign in again silently, once, and repeat the call; a second 401 is an AuthError.
 */
import { AuthError, apiErrorFrom } from './errors';
import type { FetchRequest, Platform } from './platform';
import { sessionToken } from './session';

export type Method = FetchRequest['method'];

export interface Api {
  call<T>(method: Method, path: string, body?: unknown): T;
}

export function createApi(p: Platform): Api {
  const send = (token: string, method: Method, path: string, body: unknown) =>
    p.fetch(`${p.backendUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  return {
    call<T>(method: Method, path: string, body?: unknown): T {
      let res = send(sessionToken(p), method, path, body);
      if (res.status === 401) res = send(sessionToken(p, { fresh: true }), method, path, body);
      if (res.status === 401) throw new AuthError(apiErrorFrom(401, res.text).message);
      if (res.status < 200 || res.status >= 300) throw apiErrorFrom(res.status, res.text);
      return (res.status === 204 || res.text === '' ? null : JSON.parse(res.text)) as T;
    },
  };
}
