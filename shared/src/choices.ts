/**
 * "This email, my choice" in words, one wording for the Gmail card, the Outlook pane and the console: whether the
 * open email is logged for the user and what teammates get of their copy. Pure and dependency-free: bundled into
 * Apps Script and the task pane.
 */
import type { MessageChoices, SharingLevel } from './api-types';

export type { MessageChoices, SharingLevel };

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
    : 'Logged to the CRM from your mailbox.';
  if (!c.sharing) return { logging, sharing: null };
  const whose = c.sharing.override === null ? ' (your default)' : ' (for this email only)';
  return { logging, sharing: `${SHARING_WORDS[c.sharing.level]}${whose}` };
}

/** The levels a user may switch this email to, and "back to my default" when an override is set. */
export function sharingChoices(c: MessageChoices): { label: string; level: SharingLevel | null }[] {
  if (!c.sharing) return [];
  const current = c.sharing.level;
  const out: { label: string; level: SharingLevel | null }[] = (['private', 'metadata', 'full'] as const)
    .filter((l) => l !== current).map((l) => ({ label: SHARING_ACTIONS[l], level: l }));
  if (c.sharing.override !== null) out.push({ label: 'Use my default', level: null });
  return out;
}
