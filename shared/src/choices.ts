/**
 * "This email, my choice" in words and buttons, one wording for the Gmail card, the Outlook pane and the console:
 * whether the open email is logged for the user, what teammates get of their copy, which choices are offered, and
 * what each one did. Pure and dependency-free: bundled into Apps Script, the task pane and the console.
 */
import type { SharingLevel } from './api/common';
import type { MessageChoices } from './api/messages';

export type { MessageChoices, SharingLevel };
export type LogScope = 'message' | 'thread';

/** What teammates get of the email through the user's copy. */
export const SHARING_WORDS: Record<SharingLevel, string> = {
  full: 'Shared with your team in full',
  metadata: 'Shared with your team as headers only (who and when, no body)',
  private: 'Private: only you see it',
};

/** The button that sets each level for this email. */
export const SHARING_ACTIONS: Record<SharingLevel, string> = {
  private: 'Make private',
  metadata: 'Share headers only',
  full: 'Share in full',
};

/** One line about logging, and one about sharing (null when the user holds no copy). */
export function choiceWords(c: MessageChoices): { logging: string; sharing: string | null } {
  const logging = c.notLogged
    ? c.notLogged.scope === 'thread'
      ? 'You chose not to log this thread: none of its mail in your mailbox goes to the CRM.'
      : 'You chose not to log this email: your copy does not go to the CRM.'
    : // No copy of theirs is stored: nothing says it is logged, only that no choice of theirs keeps it out.
      c.sharing
      ? 'Logged to the CRM from your mailbox.'
      : 'Your sync rules decide whether your copy is logged; you made no choice for this email.';
  if (!c.sharing) return { logging, sharing: null };
  const whose = c.sharing.override === null ? ' (your default)' : ' (for this email only)';
  return { logging, sharing: `${SHARING_WORDS[c.sharing.level]}${whose}` };
}

/** A logging button: "Don't log" this email or its thread (by Message-ID), or "Log … again" (by the choice's id). */
export type LoggingChoice = { label: string; action: 'dontLog'; scope: LogScope } | { label: string; action: 'logAgain'; scope: LogScope; exclusionId: string };

/** The logging buttons for this email: the two "don't log" ones, or the one that lifts the choice made. */
export function loggingChoices(c: MessageChoices): LoggingChoice[] {
  if (c.notLogged) {
    const { id, scope } = c.notLogged;
    return [{ label: scope === 'thread' ? 'Log this thread again' : 'Log this email again', action: 'logAgain', scope, exclusionId: id }];
  }
  return [
    { label: "Don't log this email", action: 'dontLog', scope: 'message' },
    { label: "Don't log this thread", action: 'dontLog', scope: 'thread' },
  ];
}

/** The levels a user may switch this email to, and "back to my default" when an override is set. */
export function sharingChoices(c: MessageChoices): { label: string; level: SharingLevel | null }[] {
  if (!c.sharing) return [];
  const current = c.sharing.level;
  const out: { label: string; level: SharingLevel | null }[] = (['private', 'metadata', 'full'] as const)
    .filter((l) => l !== current)
    .map((l) => ({ label: SHARING_ACTIONS[l], level: l }));
  if (c.sharing.override !== null) out.push({ label: 'Use my default', level: null });
  return out;
}

/** What a choice did, said once it is done (a notification, a status line). */
export type ChoiceDone = { action: 'dontLog' | 'logAgain'; scope: LogScope } | { action: 'setSharing'; level: SharingLevel | null };

const SHARING_DONE: Record<SharingLevel, string> = {
  private: 'This email is private now: only you see it.',
  metadata: 'Your team sees this email’s headers only now.',
  full: 'Your team sees this email in full now.',
};

export function choiceDoneWords(done: ChoiceDone): string {
  if (done.action === 'setSharing') return done.level === null ? 'This email follows your default sharing again.' : SHARING_DONE[done.level];
  const what = done.scope === 'thread' ? 'This thread is' : 'This email is';
  return done.action === 'dontLog' ? `${what} no longer logged for you.` : `${what} logged again: it is back in the CRM within a minute or so.`;
}
