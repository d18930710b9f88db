/** Per-request state shared by the Graph routes, and the wrapper that turns thrown GraphErrors into Graph errors. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessTokenInfo } from '../oauth/microsoft';
import { preferences, sendGraphError, type Preferences } from './odata';
import { GraphError, type MailStore } from './store';
import type { Mailbox } from './types';

export interface GraphLocals {
  mailbox: Mailbox;
  auth: AccessTokenInfo;
  prefs: Preferences;
}

export function graphLocals(res: Response): GraphLocals {
  return res.locals.graph as GraphLocals;
}

export function setGraphLocals(req: Request, res: Response, mailbox: Mailbox, auth: AccessTokenInfo): void {
  res.locals.graph = { mailbox, auth, prefs: preferences(req) } satisfies GraphLocals;
}

/** What the route modules need from the emulator. */
export interface RouteDeps {
  store: MailStore;
  baseUrl: () => string;
  /** Everything the product did through Graph that tests read back (sends, patches, moves...). */
  log: ActionLog;
}

export interface ActionRecord {
  at: string;
  address: string;
  action: 'send' | 'patch' | 'move' | 'copy' | 'delete' | 'permanentDelete' | 'createDraft' | 'createReply' | 'attach';
  messageId: string;
  internetMessageId?: string;
  detail?: Record<string, unknown>;
}

export class ActionLog {
  readonly records: ActionRecord[] = [];
  add(record: Omit<ActionRecord, 'at'>): void {
    this.records.push({ at: new Date().toISOString(), ...record });
  }
  of(action: ActionRecord['action'], address?: string): ActionRecord[] {
    return this.records.filter((r) => r.action === action && (!address || r.address.toLowerCase() === address.toLowerCase()));
  }
}

export function handle(fn: (req: Request, res: Response) => Promise<void> | void): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch((err: unknown) => {
        if (err instanceof GraphError) sendGraphError(req, res, err);
        else next(err);
      });
  };
}

/** Reads a JSON body field, failing the way Graph does for a malformed request. */
export function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new GraphError(400, 'RequestBodyRead', 'Invalid request body.');
  return body as Record<string, unknown>;
}
