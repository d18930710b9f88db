/**
 * The backend URL, fixed at build time: esbuild replaces `__THREADLINE_BACKEND_URL__` with PUBLIC_URL
 * (gmail-addon/build.mjs). It must match the manifest's `urlFetchWhitelist`, or UrlFetchApp refuses the call.
 */
declare const __THREADLINE_BACKEND_URL__: string | undefined;

/** Without a trailing slash, so paths join as `${backendUrl()}/api/…`. Unit tests run unbundled: the local default. */
export function backendUrl(): string {
  const url = typeof __THREADLINE_BACKEND_URL__ === 'string' ? __THREADLINE_BACKEND_URL__ : 'http://127.0.0.1:3000';
  return url.replace(/\/+$/, '');
}
