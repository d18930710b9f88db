/** Golden check: the OpenAPI document and the routes the app registers describe the same API. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { listRoutes } from './app';
import { testService } from '../../test/helpers/service';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function documented(): string[] {
  const doc = parse(readFileSync(path.join(__dirname, '..', 'openapi.yaml'), 'utf8'));
  expect(doc.openapi).toMatch(/^3\.1\./);
  const out: string[] = [];
  for (const [p, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const m of Object.keys(item)) if (METHODS.includes(m)) out.push(`${m.toUpperCase()} ${p}`);
  }
  return out.sort();
}

function registered(): string[] {
  const { app } = testService();
  return listRoutes(app)
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
    .filter((r) => !r.startsWith('HEAD '))
    .sort();
}

describe('openapi.yaml', () => {
  it('documents every registered route, and only those', () => {
    expect(documented()).toEqual([...new Set(registered())]);
  });
});
