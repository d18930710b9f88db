/**
 * "Why isn't this email here?" in words, from the view alone: the reasons the server's view already tells us
 * (no connected mailbox, a mailbox in trouble or still importing, the email visible only to its holder).
 * The Gmail card asks the server; the pane can answer at once because every fact is in the view.
 */
import type { AddonContextView } from '../../shared/src/api/addon-view';

export function explainThisEmail(view: AddonContextView): string[] {
  const m = view.thisMessage;
  if (m.status === 'synced') {
    const who = m.syncedBy.map((u) => (u.isYou ? 'your mailbox' : `${u.name || u.email}'s mailbox`));
    return [`It was synced from ${who.join(' and ')}. Emails with people outside your organisation are logged unless a rule excludes them.`];
  }
  if (m.status === 'not_visible') return ['It is in the CRM, but its holder shares their mail privately, so only they can see it.'];
  if (m.status === 'unknown') return ['This email has no Message-ID, so Threadline cannot look it up.'];
  const reasons: string[] = [];
  if (view.sync.status === 'not_connected') reasons.push('Your mailbox is not connected, so your mail is not synced to the CRM. Connect it from the CRM.');
  for (const box of view.sync.mailboxes) {
    if (box.state === 'backfilling') reasons.push(`${box.address} is still importing (${box.progress.imported} of ${box.progress.total || '?'}); this email may arrive soon.`);
    if (box.problem) reasons.push(`${box.address}: ${box.problem.message} ${box.problem.fix}`.trim());
  }
  const outside = view.participants.filter((p) => !p.teammate);
  if (outside.length === 0) reasons.push('Everyone on it is in your organisation: internal email may be excluded by your admin.');
  reasons.push('A sync rule may exclude it: the sender, their domain or a label can be excluded by you or your admin. New mail appears within a minute or so of arriving.');
  return reasons;
}
