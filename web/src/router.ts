/**
 * Hash routes (`#/contacts/<id>`), so the server serves static files only. A path under /app/ (the add-ons link
 * to `/app/contacts/<id>`; the server answers it with the page) is turned into the same hash route on load.
 */
export interface Route {
  name: string;
  params: Record<string, string>;
  query: URLSearchParams;
}

const PATTERNS: [string, RegExp][] = [
  ['mailboxes', /^\/(?:mailboxes|settings\/mailboxes)?$/],
  ['contacts', /^\/contacts$/],
  ['contact', /^\/contacts\/(?<id>[0-9a-f]{24})$/],
  ['company', /^\/companies\/(?<id>[0-9a-f]{24})$/],
  ['deals', /^\/deals$/],
  ['deal', /^\/deals\/(?<id>[0-9a-f]{24})$/],
  ['message', /^\/messages\/(?<id>[0-9a-f]{24})$/],
  ['thread', /^\/threads\/(?<id>[0-9a-f]{24})$/],
  ['settings', /^\/settings$/],
  ['why', /^\/why$/],
  ['signin', /^\/signin$/],
];

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, search = ''] = raw.split('?', 2);
  for (const [name, re] of PATTERNS) {
    const m = re.exec(path);
    if (m) return { name, params: { ...(m.groups ?? {}) }, query: new URLSearchParams(search) };
  }
  return { name: 'not_found', params: {}, query: new URLSearchParams(search) };
}

/** `/app/contacts/<id>` → `/app/#/contacts/<id>` (keeping any hash that is already there). */
export function pathToHash(): void {
  const m = /^\/app\/(.+)$/.exec(location.pathname);
  if (!m || m[1] === 'index.html' || location.hash) return;
  history.replaceState(null, '', `/app/#/${m[1].replace(/\/+$/, '')}${location.search}`);
}
