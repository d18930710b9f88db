/**
 * The typed control object of the Google emulator: seed and change mailboxes as the user would, steer
 * identity, faults, quota and push, and read back what the product did. `control-routes.ts` exposes the same
 * operations over HTTP under `/__control/` for tests in other processes.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaultInjector, FaultSettings } from '../common/faults';
import type { RequestRecorder } from '../common/recorder';
import type { GoogleIdentity } from '../oauth/google';
import { deliver } from './compose';
import type { GmailContext } from './context';
import { headerValue } from './mime';
import type { PushSettings } from './push';
import type { QuotaSettings } from './quota';

/** One message to seed; the shape `generateMailbox()` (common/generate.ts) returns. */
export interface SeedItem {
  raw: Buffer;
  labelIds: string[];
  internalDate?: number;
  /** Used when internalDate is absent (generateMailbox() gives `date`). */
  date?: Date;
}

export type UserAction = 'read' | 'unread' | 'star' | 'unstar' | 'archive' | 'unarchive' | 'trash' | 'untrash' | 'spam' | 'delete';

const ACTIONS: Record<Exclude<UserAction, 'delete'>, [string[], string[]]> = {
  read: [[], ['UNREAD']],
  unread: [['UNREAD'], []],
  star: [['STARRED'], []],
  unstar: [[], ['STARRED']],
  archive: [[], ['INBOX']],
  unarchive: [['INBOX'], []],
  trash: [['TRASH'], []],
  untrash: [[], ['TRASH']],
  spam: [['SPAM'], ['INBOX']],
};

export function createGoogleControl(ctx: GmailContext, identity: GoogleIdentity, faults: FaultInjector, recorder: RequestRecorder) {
  let retentionMs: number | null = null;
  const mailbox = (email: string) => ctx.state.ensure(email);

  const control = {
    /** Adds messages as already-present mail (initial import material). Returns their ids. */
    seed(email: string, items: SeedItem[]): string[] {
      const box = mailbox(email);
      // Oldest first, so that replies find the message they reference and join its thread.
      const dated = items.map((item) => ({ ...item, internalDate: item.internalDate ?? item.date?.getTime() }));
      return dated.sort((a, b) => (a.internalDate ?? 0) - (b.internalDate ?? 0)).map((item) => deliver(box, item.raw, item.labelIds, item.internalDate).id);
    },
    /** Seeds every `.eml` file of a folder (sorted by name) with the given labels. */
    async seedFromDirectory(email: string, dir: string, labelIds: string[] = ['INBOX']): Promise<string[]> {
      const names = (await readdir(dir)).filter((n) => n.endsWith('.eml')).sort();
      const items = await Promise.all(names.map(async (n) => ({ raw: await readFile(path.join(dir, n)), labelIds })));
      return control.seed(email, items);
    },
    /** New mail arriving now: INBOX + UNREAD unless labels are given; threads by References + subject. */
    deliver(email: string, raw: Buffer, labelIds: string[] = ['INBOX', 'UNREAD']): { id: string; threadId: string } {
      const message = deliver(mailbox(email), raw, labelIds);
      return { id: message.id, threadId: message.threadId };
    },
    /** The user doing something in the Gmail UI. */
    act(email: string, messageId: string, action: UserAction): boolean {
      const box = mailbox(email);
      if (action === 'delete') return box.remove(messageId);
      const [add, remove] = ACTIONS[action];
      return !!box.modify(messageId, add, remove);
    },
    label(email: string, messageId: string, add: string[], remove: string[] = []): boolean {
      return !!mailbox(email).modify(messageId, add, remove);
    },
    createLabel(email: string, name: string): string | undefined {
      return mailbox(email).createLabel(name)?.id;
    },
    /** The mailbox's labels as users.labels.list gives them (system and user; user ones are `Label_N`). */
    labels(email: string): { id: string; name: string; type: 'system' | 'user' }[] {
      return [...mailbox(email).labels.values()].map((l) => ({ id: l.id, name: l.name, type: l.type }));
    },
    messages(email: string) {
      return [...mailbox(email).messages.values()].map((m) => ({
        id: m.id,
        threadId: m.threadId,
        labelIds: [...m.labelIds],
        subject: headerValue(m.tree, 'subject') ?? '',
        messageIdHeader: headerValue(m.tree, 'message-id') ?? '',
        internalDate: m.internalDate,
      }));
    },
    historyId: (email: string): number => mailbox(email).historyId,
    /** Forgets history older than ageMs (default: all), so older startHistoryIds answer 404. */
    expireHistory(email?: string, ageMs = 0): void {
      const boxes = email ? [mailbox(email)] : [...ctx.state.mailboxes.values()];
      boxes.forEach((b) => b.expireHistory(ageMs));
    },
    /** Keeps only this much history from now on (Gmail: about a week, sometimes hours); null: keep all. */
    setHistoryRetention(ms: number | null): void {
      retentionMs = ms;
      if (ms !== null) control.expireHistory(undefined, ms);
    },
    retentionMs: (): number | null => retentionMs,

    revokeUser: (email: string): number => identity.revokeUser(email),
    expireAccessTokens: (email?: string): void => identity.expireAccessTokens(email),
    setConsent: identity.setConsent,
    grants: identity.grants,
    identityCounters: identity.counters,
    mintIdToken: identity.mintIdToken,
    mintPushToken: identity.mintPushToken,
    jwks: identity.jwks,

    setFaults: (settings: FaultSettings): void => faults.set(settings),
    clearFaults: (): void => faults.clear(),
    faultCounters: () => faults.counters(),
    setQuota: (settings: Partial<QuotaSettings>): void => ctx.quota.set(settings),
    /** Whether POST /batch/gmail/v1 exists (off: 404, as on a root without it). */
    setBatchEndpoint: (enabled: boolean): void => {
      ctx.batchEndpoint = enabled;
    },
    quota: () => ({ settings: ctx.quota.get(), usage: ctx.quota.report() }),

    configurePush: (settings: PushSettings): void => ctx.push.configure(settings),
    pushes: () => ctx.push.deliveries(),
    watchOf: (email: string) => ctx.push.watchOf(email.toLowerCase()),
    expireWatch: (email: string): void => ctx.push.expireWatch(email.toLowerCase()),

    requests: recorder.entries,
    requestCounters: recorder.counters,
    /** Answers with status ≥ 400 the emulator gave (quota, auth, not found, injected faults). */
    errors: () => recorder.entries().filter((e) => (e.status ?? 0) >= 400 || e.aborted),
    sends: () => ctx.state.sends.map((s) => ({ ...s })),
    /** messages.send replaces the client's Message-ID with one of Gmail's own (store.ts Mailbox.replacesMessageIds). */
    replaceMessageIdsOnSend(email: string, on = true): void {
      mailbox(email).replacesMessageIds = on;
    },
    modifications: () => ctx.state.modifications.map((m) => ({ ...m })),
    /** Clears the logs and counters (mailboxes stay). */
    resetLogs(): void {
      recorder.clear();
      ctx.quota.reset();
      ctx.state.sends.length = 0;
      ctx.state.modifications.length = 0;
    },
  };
  return control;
}

export type GoogleControl = ReturnType<typeof createGoogleControl>;
