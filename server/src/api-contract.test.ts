/**
 * Golden check: server/openapi.yaml says what the shared schemas say (shared/src/api/routes.ts). For every route the
 * request body, the query parameters and every success answer of the document are compared with the route's
 * schemas — field names, which are required, types, enum values, nullability, down to the last nested field — and
 * every error answer must be the one error shape. A field added to a schema and not to the document (or the other
 * way round) fails here, naming the route and the path of the field.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { API_ROUTES, ApiErrorBody, type Answer, type RouteContract } from '@threadline/shared/src/api';

type Json = Record<string, unknown>;
const doc = parse(readFileSync(path.join(__dirname, '..', 'openapi.yaml'), 'utf8')) as Json;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** A schema reduced to what the contract is about: fields, required ones, types, enums. */
type Shape =
  | { any: true }
  | { union: Shape[] }
  | { type: 'object'; properties: Record<string, Shape>; required: string[] }
  | { type: 'array'; items: Shape }
  | { type: string; enum?: unknown[] };

function resolve(s: Json, root: Json): Json {
  let out = s;
  while (typeof out.$ref === 'string') {
    const ref = out.$ref.replace(/^#\//, '').split('/');
    out = ref.reduce<Json>((node, key) => node[key] as Json, root);
  }
  return out;
}

function union(shapes: Shape[]): Shape {
  const flat = shapes.flatMap((s) => ('union' in s ? s.union : [s]));
  const seen = new Map(flat.map((s) => [JSON.stringify(s), s]));
  const list = [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, s]) => s);
  return list.length === 1 ? list[0] : { union: list };
}

function shapeOf(raw: Json | boolean | undefined, root: Json): Shape {
  if (raw === undefined || raw === true) return { any: true };
  const s = resolve(raw as Json, root);
  if (Array.isArray(s.allOf)) {
    const parts = (s.allOf as Json[]).map((p) => shapeOf(p, root));
    const properties: Record<string, Shape> = {};
    const required = new Set<string>();
    for (const p of parts) {
      if (!('type' in p) || p.type !== 'object') throw new Error(`allOf of a non-object: ${JSON.stringify(p)}`);
      const o = p as Extract<Shape, { properties: unknown }>;
      Object.assign(properties, o.properties);
      o.required.forEach((r) => required.add(r));
    }
    return { type: 'object', properties, required: [...required].sort() };
  }
  const alternatives = (s.oneOf ?? s.anyOf) as Json[] | undefined;
  if (alternatives) return union(alternatives.map((a) => shapeOf(a, root)));
  if (s.const !== undefined) return shapeOf({ ...s, const: undefined, enum: [s.const] }, root);
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (types.length === 0) return s.properties ? shapeOf({ ...s, type: 'object' }, root) : { any: true };
  return union(
    types.map((t): Shape => {
      if (t === 'object') {
        const props = (s.properties ?? {}) as Record<string, Json>;
        const properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, shapeOf(v, root)]));
        return { type: 'object', properties, required: [...((s.required as string[]) ?? [])].sort() };
      }
      if (t === 'array') return { type: 'array', items: shapeOf(s.items as Json, root) };
      if (t === 'null') return { type: 'null' };
      const values = (s.enum as unknown[] | undefined)?.filter((v) => v !== null);
      return values ? { type: t, enum: [...values].sort() } : { type: t };
    }),
  );
}

/** Where two shapes disagree, as `path: what`. */
function differences(documented: Shape, declared: Shape, at = ''): string[] {
  if ('any' in documented || 'any' in declared) {
    return 'any' in documented && 'any' in declared
      ? []
      : [`${at || '(root)'}: ${JSON.stringify(documented)} documented, ${JSON.stringify(declared)} in the schema`];
  }
  if ('union' in documented || 'union' in declared) {
    const a = 'union' in documented ? documented.union : [documented];
    const b = 'union' in declared ? declared.union : [declared];
    if (a.length !== b.length) return [`${at || '(root)'}: documented as ${a.length} alternative(s), the schema has ${b.length}`];
    return a.flatMap((x, i) => differences(x, b[i], at));
  }
  if (documented.type !== declared.type) return [`${at || '(root)'}: ${documented.type} documented, ${declared.type} in the schema`];
  if (documented.type === 'array') return differences((documented as { items: Shape }).items, (declared as { items: Shape }).items, `${at}[]`);
  if (documented.type === 'object') {
    const a = documented as Extract<Shape, { properties: unknown }>;
    const b = declared as Extract<Shape, { properties: unknown }>;
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a.properties), ...Object.keys(b.properties)])) {
      const where = at ? `${at}.${k}` : k;
      if (!(k in b.properties)) out.push(`${where}: documented, not in the schema`);
      else if (!(k in a.properties)) out.push(`${where}: in the schema, not documented`);
      else out.push(...differences(a.properties[k], b.properties[k], where));
      if (a.required.includes(k) !== b.required.includes(k) && k in a.properties && k in b.properties) {
        out.push(`${where}: ${a.required.includes(k) ? 'required' : 'optional'} documented, ${b.required.includes(k) ? 'required' : 'optional'} in the schema`);
      }
    }
    return out;
  }
  const ea = JSON.stringify((documented as { enum?: unknown[] }).enum ?? null);
  const eb = JSON.stringify((declared as { enum?: unknown[] }).enum ?? null);
  return ea === eb ? [] : [`${at || '(root)'}: values ${ea} documented, ${eb} in the schema`];
}

const fromZod = (schema: z.ZodType, io: 'input' | 'output'): Shape => {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return shapeOf(json, json);
};

/** The kind of answer a documented response is. */
function documentedAnswer(response: Json): { kind: 'json'; schema: Json } | { kind: Exclude<Answer, z.ZodType> } {
  const content = (resolve(response, doc).content ?? {}) as Record<string, Json>;
  const types = Object.keys(content);
  if (types.length === 0) return { kind: 'empty' };
  if (types.length > 1) throw new Error(`more than one content type: ${types.join(', ')}`);
  const type = types[0];
  if (type === 'application/json') return { kind: 'json', schema: content[type].schema as Json };
  if (type === 'text/plain') return { kind: 'text' };
  if (type === 'text/html') return { kind: 'html' };
  if (type === 'application/octet-stream') return { kind: 'binary' };
  throw new Error(`unexpected content type ${type}`);
}

const operations = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([p, item]) =>
  Object.entries(item)
    .filter(([m]) => METHODS.includes(m))
    .map(([m, op]) => ({ key: `${m.toUpperCase()} ${p}`, op })),
);
const routes = API_ROUTES as Record<string, RouteContract>;

describe('server/openapi.yaml and the shared schemas', () => {
  it('list the same routes', () => {
    expect(operations.map((o) => o.key).sort()).toEqual(Object.keys(routes).sort());
  });

  it.each(operations.map((o) => [o.key, o.op] as const))('%s: the same request body, query and answers', (key, op) => {
    const contract = routes[key];
    const problems: string[] = [];

    const bodySchema = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
    const documentedBody = bodySchema?.['application/json']?.schema as Json | undefined;
    if (Boolean(documentedBody) !== Boolean(contract.body)) problems.push(`request body: ${documentedBody ? 'documented' : 'in the schema'} only`);
    else if (documentedBody && contract.body)
      problems.push(...differences(shapeOf(documentedBody, doc), fromZod(contract.body, 'input')).map((d) => `body ${d}`));

    const documentedQuery = ((op.parameters ?? []) as Json[])
      .map((p) => resolve(p, doc))
      .filter((p) => p.in === 'query')
      .map((p) => String(p.name))
      .sort();
    const declaredQuery = (() => {
      if (!contract.query) return [];
      const s = fromZod(contract.query, 'input');
      const objects = 'union' in s ? s.union : [s];
      return [...new Set(objects.flatMap((o) => ('properties' in o ? Object.keys(o.properties) : [])))].sort();
    })();
    if (JSON.stringify(documentedQuery) !== JSON.stringify(declaredQuery))
      problems.push(`query: ${documentedQuery.join(',')} documented, ${declaredQuery.join(',')} in the schema`);

    const responses = op.responses as Record<string, Json>;
    const successes = Object.keys(responses)
      .filter((s) => Number(s) < 400)
      .sort();
    const declared = Object.keys(contract.answers).sort();
    if (JSON.stringify(successes) !== JSON.stringify(declared))
      problems.push(`answers: ${successes.join(',')} documented, ${declared.join(',')} in the schema`);
    for (const status of successes) {
      const answer = contract.answers[Number(status)];
      if (answer === undefined) continue;
      const found = documentedAnswer(responses[status]);
      if (found.kind === 'json') {
        if (typeof answer === 'string') problems.push(`${status}: JSON documented, ${answer} in the schema`);
        else problems.push(...differences(shapeOf(found.schema, doc), fromZod(answer, 'output')).map((d) => `${status} ${d}`));
      } else if (answer !== found.kind) {
        problems.push(`${status}: ${found.kind} documented, ${typeof answer === 'string' ? answer : 'JSON'} in the schema`);
      }
    }
    for (const status of Object.keys(responses).filter((s) => Number(s) >= 400)) {
      const r = responses[status];
      const html = Object.keys((r.content ?? {}) as Json).includes('text/html');
      if (r.$ref !== '#/components/responses/Error' && !html && r.content !== undefined) problems.push(`${status}: not the error shape`);
    }
    expect(problems).toEqual([]);
  });

  it('documents the one error shape', () => {
    const documented = shapeOf({ $ref: '#/components/schemas/Error' }, doc);
    expect(differences(documented, fromZod(ApiErrorBody, 'output'))).toEqual([]);
  });
});
