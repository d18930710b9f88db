/**
 * The OData conventions Graph mail follows: the Prefer header, $select, $top, a small $filter subset, and the error
 * body `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`
 * (https://learn.microsoft.com/graph/errors).
 */
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { GraphError } from './store';
import type { StoredMessage } from './types';

export interface Preferences {
  immutableIds: boolean;
  maxPageSize: number | null;
  textBody: boolean;
}

/** Prefer may be repeated or comma-joined: `Prefer: odata.maxpagesize=5, IdType="ImmutableId"`. */
export function preferences(req: Request): Preferences {
  const raw = req.headers.prefer;
  const parts = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',').map((p) => p.trim());
  const prefs: Preferences = { immutableIds: false, maxPageSize: null, textBody: false };
  for (const part of parts) {
    const [key = '', value = ''] = part.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
    const name = key.toLowerCase();
    if (name === 'idtype' && value === 'ImmutableId') prefs.immutableIds = true;
    else if (name === 'odata.maxpagesize' && /^\d+$/.test(value) && Number(value) > 0) prefs.maxPageSize = Number(value);
    else if (name === 'outlook.body-content-type' && value.toLowerCase() === 'text') prefs.textBody = true;
  }
  return prefs;
}

export function queryString(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

export function selectList(value: string | undefined): string[] | null {
  if (!value) return null;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function sendGraphError(req: Request, res: Response, err: GraphError, headers: Record<string, string> = {}): void {
  const clientRequestId = req.header('client-request-id') ?? randomUUID();
  res
    .status(err.status)
    .set({ 'request-id': randomUUID(), 'client-request-id': clientRequestId, ...headers })
    .json({
      error: {
        code: err.code,
        message: err.message,
        innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': randomUUID(), 'client-request-id': clientRequestId },
      },
    });
}

export const badRequest = (message: string, code = 'BadRequest'): GraphError => new GraphError(400, code, message);

type Predicate = (m: StoredMessage) => boolean;

const DATE_PROPS = new Set(['receiveddatetime', 'sentdatetime', 'createddatetime', 'lastmodifieddatetime']);
const STRING_PROPS: Record<string, (m: StoredMessage) => string> = {
  internetmessageid: (m) => m.internetMessageId,
  conversationid: (m) => m.conversationId,
  subject: (m) => m.subject,
};
const BOOL_PROPS: Record<string, (m: StoredMessage) => boolean> = {
  isread: (m) => m.isRead,
  isdraft: (m) => m.isDraft,
  hasattachments: (m) => m.attachments.some((a) => !a.isInline),
};
const compare = (op: string, a: number, b: number): boolean =>
  op === 'eq' ? a === b : op === 'ne' ? a !== b : op === 'ge' ? a >= b : op === 'gt' ? a > b : op === 'le' ? a <= b : a < b;

/**
 * The $filter subset the engine needs: `receivedDateTime ge 2024-01-01T00:00:00Z` (delta allows only ge/gt on
 * receivedDateTime, https://learn.microsoft.com/graph/delta-query-messages), `internetMessageId eq '<..>'` (to find
 * a sent item before retrying), booleans, joined with `and`; or, alone, a singleValueExtendedProperties match
 * (`singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value eq '{value}')`,
 * https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get).
 */
export function parseFilter(filter: string | undefined, opts: { deltaOnly?: boolean } = {}): Predicate | null {
  if (!filter) return null;
  const extended =
    /^\s*singleValueExtendedProperties\/Any\(\s*(\w+)\s*:\s*\1\/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+\1\/value\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$/i.exec(filter);
  if (extended && !opts.deltaOnly) {
    const id = (extended[2] ?? '').replace(/''/g, "'").toLowerCase();
    const value = (extended[3] ?? '').replace(/''/g, "'");
    return (m) => m.extendedProperties?.[id] === value;
  }
  const clauses = filter.split(/\s+and\s+/i);
  const predicates = clauses.map((clause): Predicate => {
    const match = /^\s*(\w+)\s+(eq|ne|ge|gt|le|lt)\s+(.+?)\s*$/i.exec(clause);
    if (!match) throw badRequest(`Invalid filter clause: ${clause}`, 'ErrorInvalidUrlQueryFilter');
    const [, rawProp = '', rawOp = '', literal = ''] = match;
    const prop = rawProp.toLowerCase();
    const op = rawOp.toLowerCase();
    if (opts.deltaOnly && !(prop === 'receiveddatetime' && (op === 'ge' || op === 'gt'))) {
      throw badRequest('The only $filter supported on message delta is receivedDateTime ge|gt {value}.', 'ErrorInvalidUrlQueryFilter');
    }
    if (DATE_PROPS.has(prop)) {
      const at = Date.parse(literal.replace(/^'|'$/g, ''));
      if (Number.isNaN(at)) throw badRequest(`Invalid date in filter: ${literal}`, 'ErrorInvalidUrlQueryFilter');
      const key =
        prop === 'receiveddatetime'
          ? 'receivedDateTime'
          : prop === 'sentdatetime'
            ? 'sentDateTime'
            : prop === 'createddatetime'
              ? 'createdDateTime'
              : 'lastModifiedDateTime';
      return (m) => {
        const value = m[key];
        return value !== null && compare(op, Date.parse(value), at);
      };
    }
    const stringProp = STRING_PROPS[prop];
    if (stringProp && (op === 'eq' || op === 'ne') && /^'.*'$/.test(literal)) {
      const value = literal.slice(1, -1).replace(/''/g, "'");
      return (m) => (stringProp(m) === value) === (op === 'eq');
    }
    const boolProp = BOOL_PROPS[prop];
    if (boolProp && (op === 'eq' || op === 'ne') && /^(true|false)$/i.test(literal)) {
      const value = literal.toLowerCase() === 'true';
      return (m) => (boolProp(m) === value) === (op === 'eq');
    }
    throw badRequest(`Unsupported filter clause: ${clause}`, 'ErrorInvalidUrlQueryFilter');
  });
  return (m) => predicates.every((p) => p(m));
}

/** The request's own URL on the emulator origin with some query parameters replaced (for @odata.nextLink). */
export function selfLink(req: Request, baseUrl: string, replace: Record<string, string | null>): string {
  const url = new URL(req.originalUrl, 'http://placeholder');
  for (const [key, value] of Object.entries(replace)) {
    if (value === null) url.searchParams.delete(key);
    else url.searchParams.set(key, value);
  }
  // URLSearchParams encodes `$` as %24; Graph writes `$skip` plainly, and clients compare links textually.
  const query = url.searchParams.toString().replace(/%24/g, '$');
  return `${baseUrl}${url.pathname}${query ? `?${query}` : ''}`;
}

export function intParam(req: Request, name: string, fallback: number, max: number): number {
  const raw = queryString(req, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw badRequest(`Invalid value '${raw}' for query parameter ${name}.`);
  return Math.min(Number(raw), max);
}
