/**
 * The API tests' check that every answer is what the shared schemas say (shared/src/api/routes.ts): `request(app)`
 * is supertest's, with every request made through it parsing its answer with its route's schema for that status
 * (errors: the one error shape). An answer with a field the schema lacks, one missing a field, or of another type
 * fails the request's promise, naming the route and the field.
 */
import type { Express } from 'express';
import supertest, { type Response } from 'supertest';
import { API_ROUTES, ApiErrorBody, type RouteContract } from '@threadline/shared/src/api';

const routes = Object.entries(API_ROUTES as Record<string, RouteContract>).map(([key, contract]) => {
  const [method, template] = key.split(' ');
  const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
  return { key, method, pattern, contract };
});

/** The route an answered request belongs to, by its method and path. */
function routeOf(res: Response): (typeof routes)[number] | undefined {
  const req = (res as Response & { req: { method: string; path: string } }).req;
  const pathname = new URL(req.path, 'http://x').pathname;
  return routes.find((r) => r.method === req.method && r.pattern.test(pathname));
}

function describeIssues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ');
}

/** Throws when the answer does not match the contract; supertest's `.expect(fn)` turns that into a failed request. */
export function answersByContract(res: Response): void {
  const route = routeOf(res);
  const where = `${res.status} answer of ${route?.key ?? 'an undocumented route'}`;
  if (res.status >= 400) {
    if (!String(res.headers['content-type'] ?? '').includes('json')) {
      if (route?.contract.answers[200] === 'html') return; // the OAuth callbacks answer pages, errors included
      throw new Error(`${where}: an error must be JSON`);
    }
    const parsed = ApiErrorBody.safeParse(res.body);
    if (!parsed.success) throw new Error(`${where}: not the error shape: ${describeIssues(parsed.error)}`);
    return;
  }
  if (!route) throw new Error(`${where}: no route of shared/src/api/routes.ts matches`);
  const answer = route.contract.answers[res.status];
  if (answer === undefined) throw new Error(`${where}: not a documented status`);
  const type = String(res.headers['content-type'] ?? '');
  if (answer === 'empty') {
    if (res.text) throw new Error(`${where}: should have no body, has ${res.text.slice(0, 100)}`);
    return;
  }
  if (answer === 'text' || answer === 'html') {
    if (!type.startsWith(answer === 'text' ? 'text/plain' : 'text/html')) throw new Error(`${where}: ${type} instead of ${answer}`);
    return;
  }
  if (answer === 'binary') return;
  if (!type.includes('application/json')) throw new Error(`${where}: ${type} instead of JSON`);
  const parsed = answer.safeParse(res.body);
  if (!parsed.success) throw new Error(`${where}: ${describeIssues(parsed.error)}`);
  // Parsing drops fields a schema does not know: an answer that differs from its parse has an undocumented field.
  const extra = extraFields(res.body, parsed.data);
  if (extra.length > 0) throw new Error(`${where}: fields not in its schema: ${extra.join(', ')}`);
}

/** Paths present in `raw` and absent from `parsed` (what an object schema stripped). */
function extraFields(raw: unknown, parsed: unknown, at = ''): string[] {
  if (Array.isArray(raw) && Array.isArray(parsed)) return raw.flatMap((r, i) => extraFields(r, parsed[i], `${at}[${i}]`));
  if (raw && parsed && typeof raw === 'object' && typeof parsed === 'object') {
    return Object.keys(raw).flatMap((k) =>
      k in parsed ? extraFields((raw as Record<string, unknown>)[k], (parsed as Record<string, unknown>)[k], at ? `${at}.${k}` : k) : [at ? `${at}.${k}` : k],
    );
  }
  return [];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** supertest's `request(app)`, every request of which checks its answer against the contract. */
export function request(app: Express): ReturnType<typeof supertest> {
  const agent = supertest(app);
  for (const m of METHODS) {
    const make = agent[m].bind(agent);
    (agent as unknown as Record<string, unknown>)[m] = (url: string) => make(url).expect(answersByContract);
  }
  return agent;
}
export type { Response };
