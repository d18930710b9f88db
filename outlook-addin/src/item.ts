/// <reference types="office-js" />
/**
 * The open email as the pane sends it to `POST /api/addon/context`: headers only, read synchronously from the
 * read-mode item (ReadItem permission, Mailbox 1.1 properties), never the body.
 */
import type { AddonAddress, AddonMessageInput } from '@threadline/shared/src/api/addon-view';

type Details = Pick<Office.EmailAddressDetails, 'emailAddress' | 'displayName'> | null | undefined;

/** The read-mode properties the pane uses; a narrow shape so tests and the stub host can supply it. */
export interface ReadItemLike {
  itemType?: Office.MailboxEnums.ItemType | string;
  from?: Details;
  sender?: Details;
  to?: Details[];
  cc?: Details[];
  subject?: string;
  internetMessageId?: string;
}

function address(d: Details): AddonAddress | null {
  const email = (d?.emailAddress ?? '').trim();
  return email ? { email, name: (d?.displayName ?? '').trim() } : null;
}

/**
 * null when there is nothing to show: no item (a pinned pane with nothing selected, or several messages
 * selected), or an item that is not a received message (an appointment, a draft without a sender).
 */
export function readMessage(item: ReadItemLike | null | undefined): AddonMessageInput | null {
  if (!item) return null;
  if (item.itemType !== undefined && String(item.itemType) !== 'message') return null;
  // `from` is the author; `sender` differs only when a delegate sent it. The author is who the CRM knows.
  const from = address(item.from) ?? address(item.sender);
  if (!from) return null;
  const list = (xs: Details[] | undefined) => (xs ?? []).flatMap((d) => address(d) ?? []);
  const internetMessageId = (item.internetMessageId ?? '').trim();
  return {
    from,
    to: list(item.to),
    cc: list(item.cc),
    ...(item.subject !== undefined ? { subject: item.subject } : {}),
    ...(internetMessageId ? { internetMessageId } : {}),
  };
}

/** A stable key for an item, so a repeated ItemChanged for the same email does not reload the pane. */
export function itemKey(message: AddonMessageInput | null): string {
  return message ? `${message.internetMessageId ?? ''}|${message.from.email}|${message.subject ?? ''}` : '';
}
