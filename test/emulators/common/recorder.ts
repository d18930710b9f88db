/**
 * Request log for the emulators: what the product asked, what it was answered, and how many calls were in
 * flight at once (docs/PERFORMANCE.md checks "≤ 4 in flight per Graph mailbox" and "API calls per new message").
 *
 * Usage: `const log = requestRecorder({ name: gmailOperationName }); app.use(log)`, then `log.entries()`,
 * `log.counters()`. Control routes are not recorded, so reading the log does not change it.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export interface RecordedRequest {
  seq: number;
  method: string;
  path: string;
  query: Record<string, unknown>;
  /** Operation name when the emulator knows one (e.g. `gmail.users.messages.get`), else `METHOD path`. */
  name: string;
  /** Grouping key for concurrency limits (e.g. the mailbox), when known. */
  group?: string;
  status?: number;
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  /** Requests in flight (this one included) when it started. */
  inFlightAtStart: number;
  /** True when the socket closed before an answer was written (reset, stall, client timeout). */
  aborted?: boolean;
}

export interface RecorderCounters {
  total: number;
  inFlight: number;
  maxInFlight: number;
  maxInFlightByGroup: Record<string, number>;
  byName: Record<string, number>;
  byStatus: Record<string, number>;
}

export interface RecorderOptions {
  name?(req: Request): string | undefined;
  group?(req: Request): string | undefined;
  /** Entries kept (oldest dropped first). Default 20,000. */
  maxEntries?: number;
  /** Paths starting with one of these are not recorded. Default: ['/__control']. */
  exemptPrefixes?: string[];
}

export type RequestRecorder = RequestHandler & {
  entries(filter?: { name?: string; sinceSeq?: number }): RecordedRequest[];
  counters(): RecorderCounters;
  clear(): void;
};

export function requestRecorder(options: RecorderOptions = {}): RequestRecorder {
  const exempt = options.exemptPrefixes ?? ['/__control'];
  const maxEntries = options.maxEntries ?? 20_000;
  // The newest maxEntries are kept (`kept()`); older ones are cut off in one go once as many again have piled up,
  // so recording stays O(1) per request (a copy of the whole log on each request made long imports quadratic).
  let log: RecordedRequest[] = [];
  const kept = () => log.slice(Math.max(0, log.length - maxEntries));
  let seq = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const inFlightByGroup = new Map<string, number>();
  let maxInFlightByGroup: Record<string, number> = {};
  let byName: Record<string, number> = {};
  let byStatus: Record<string, number> = {};

  const middleware = ((req: Request, res: Response, next: NextFunction): void => {
    if (exempt.some((prefix) => req.path.startsWith(prefix))) return next();
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const entry: RecordedRequest = {
      seq: ++seq,
      method: req.method,
      path: req.path,
      query: { ...req.query },
      name: `${req.method} ${req.path}`,
      startedAt: Date.now(),
      inFlightAtStart: inFlight,
    };
    log.push(entry);
    if (log.length >= 2 * maxEntries) log = kept();
    let group: string | undefined;
    let finished = false;

    // Names and groups usually come from route params, known only after routing: read them at the end,
    // but count the group's concurrency from the start when the group is derivable from the raw request.
    const early = options.group?.(req);
    if (early) {
      group = early;
      const now = (inFlightByGroup.get(group) ?? 0) + 1;
      inFlightByGroup.set(group, now);
      maxInFlightByGroup[group] = Math.max(maxInFlightByGroup[group] ?? 0, now);
    }
    const done = (aborted: boolean): void => {
      if (finished) return;
      finished = true;
      inFlight -= 1;
      if (group) inFlightByGroup.set(group, (inFlightByGroup.get(group) ?? 1) - 1);
      entry.name = options.name?.(req) ?? entry.name;
      entry.group = group;
      entry.endedAt = Date.now();
      entry.durationMs = entry.endedAt - entry.startedAt;
      if (aborted) entry.aborted = true;
      else entry.status = res.statusCode;
      byName[entry.name] = (byName[entry.name] ?? 0) + 1;
      const statusKey = aborted ? 'aborted' : String(res.statusCode);
      byStatus[statusKey] = (byStatus[statusKey] ?? 0) + 1;
    };
    res.once('finish', () => done(false));
    res.once('close', () => done(!res.writableFinished));
    next();
  }) as RequestRecorder;

  middleware.entries = (filter = {}) => kept().filter((e) => (filter.name === undefined || e.name === filter.name) && e.seq > (filter.sinceSeq ?? 0));
  middleware.counters = () => ({
    total: seq,
    inFlight,
    maxInFlight,
    maxInFlightByGroup: { ...maxInFlightByGroup },
    byName: { ...byName },
    byStatus: { ...byStatus },
  });
  middleware.clear = () => {
    log = [];
    seq = 0;
    maxInFlight = inFlight;
    maxInFlightByGroup = {};
    byName = {};
    byStatus = {};
  };
  return middleware;
}
