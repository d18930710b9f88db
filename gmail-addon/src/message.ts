/**
 * The open email's metadata, read with the per-message access token Gmail hands the contextual trigger
 * (`GmailApp.setCurrentMessageAccessToken`). The add-on's only Gmail scope, `gmail.addons.current.message.metadata`,
 * "grants temporary access to the open message's metadata (such as the subject or recipients)" and "doesn't allow
 * reading of message content" (https://developers.google.com/workspace/add-ons/concepts/workspace-scopes). So the
 * add-on calls only the address, subject and header getters of GmailMessage; never the body, raw content,
 * attachments or its thread (content scopes), and no other GmailApp method. Everything else the sidebar shows is the
 * server's copy (docs/sidebars.md). The fake GmailApp (test/fakes/apps-script/services.ts) enforces the same surface.
 */
import type { AddonAddress, AddonMessageInput } from '@threadline/shared/src/api/addon-view';
import type { Platform } from './platform';

/**
 * Splits an address header as GmailMessage returns it (`Jane <jane@x.com>, "Doe, John" <j@y.com>, bob@z.com`):
 * commas inside quotes or angle brackets do not separate; group syntax (`team: a@x, b@y;`) is flattened.
 */
export function parseAddressList(header: string): AddonAddress[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let angle = 0;
  for (let i = 0; i < header.length; i++) {
    const c = header[i];
    if (c === '\\' && quoted) {
      current += c + (header[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') angle++;
    else if (!quoted && c === '>') angle = Math.max(0, angle - 1);
    if (!quoted && angle === 0 && (c === ',' || c === ';')) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts.map(parseAddress).filter((a): a is AddonAddress => a !== null);
}

function parseAddress(raw: string): AddonAddress | null {
  // A group's display name ends with a colon outside quotes: `team: a@x.com` → `a@x.com`.
  const text = raw.replace(/^[^"<]*?:\s*/, '').trim();
  if (text === '') return null;
  const angled = /^(.*)<([^<>]*)>\s*$/.exec(text);
  const email = (angled ? angled[2] : text).trim();
  if (!email.includes('@')) return null;
  const name = angled
    ? angled[1]
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .replace(/\\(.)/g, '$1')
        .trim()
    : '';
  return { email, name };
}

export function readOpenMessage(p: Platform, gmail: { accessToken: string; messageId: string }): AddonMessageInput {
  const m = p.openMessage(gmail.accessToken, gmail.messageId);
  const from = parseAddressList(m.getFrom())[0] ?? { email: '', name: '' };
  const messageId = (m.getHeader('Message-ID') || '').trim();
  const subject = m.getSubject();
  return {
    from,
    to: parseAddressList(m.getTo() || ''),
    cc: parseAddressList(m.getCc() || ''),
    ...(subject ? { subject } : {}),
    ...(messageId ? { internetMessageId: messageId } : {}),
  };
}

/**
 * The open email's Date header as sent, or '' when it cannot be read (no header, or the per-message token no longer
 * valid): the date only sharpens an explanation, so its absence must never fail the action.
 */
export function openMessageDate(p: Platform, gmail: { accessToken: string; messageId: string }): string {
  try {
    return (p.openMessage(gmail.accessToken, gmail.messageId).getHeader('Date') || '').trim();
  } catch {
    return '';
  }
}
