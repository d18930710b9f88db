/**
 * Graph's MailboxWriter (DESIGN.md §4.8, §4.9).
 *
 * Sending: `sendMail` answers 202 with no id (https://learn.microsoft.com/graph/api/user-sendmail), so a new mail
 * is created as a draft (`POST /me/messages`) and the draft is sent (`POST /me/messages/{id}/send`); a reply is a
 * `createReply` draft on the original (which keeps the conversation and the In-Reply-To/References), patched with
 * our body and recipients, then sent. With immutable ids the draft keeps its id when it moves to Sent Items, so the
 * id returned is the Sent copy's id. The outbound stage hands us RFC 2822 (nodemailer's composer): it is parsed
 * with mailparser into the JSON message, because Graph's MIME upload (`Content-Type: text/plain`, base64) cannot be
 * combined with createReply. The Message-ID we assigned is passed as `internetMessageId` on create; whether it
 * is kept is the service's choice (Microsoft's documentation does not say it is, and Exchange may assign its own),
 * so a crash between send and record cannot rely on findByInternetMessageId: `send` reports the complete draft's
 * immutable id through `hooks.prepared` before sending it, and `resumePrepared` finishes or recognises that send
 * on a retry (DESIGN.md §4.8, port.ts SendHooks).
 *
 * State: isRead, flag and categories by PATCH (categories need the current list: Graph replaces the whole set);
 * archive / unarchive and delete / undelete by moves between Inbox, Archive and Deleted Items. Trash is a move to
 * Deleted Items — never DELETE, which puts the item in Recoverable Items, out of the user's sight
 * (https://learn.microsoft.com/graph/api/message-delete).
 */
import { simpleParser, type AddressObject, type Attachment } from 'mailparser';
import { ProviderError, type MailboxWriter, type MessageFlags, type OutgoingMessage, type SendHooks, type SentResult } from '../port';
import { messagePath, query, type GraphMailboxClient, type GraphPage } from './client';
import type { GraphMessage, GraphRecipient } from './mapping';

interface DraftFields {
  subject: string;
  body: { contentType: 'HTML' | 'Text'; content: string };
  toRecipients: GraphRecipient[];
  ccRecipients: GraphRecipient[];
  bccRecipients: GraphRecipient[];
  replyTo: GraphRecipient[];
}

interface FileAttachment {
  '@odata.type': '#microsoft.graph.fileAttachment';
  name: string;
  contentType: string;
  contentBytes: string;
  isInline: boolean;
  contentId?: string;
}

function recipients(field: AddressObject | AddressObject[] | undefined): GraphRecipient[] {
  const out: GraphRecipient[] = [];
  const visit = (list: AddressObject['value']): void => {
    for (const entry of list) {
      if (entry.group) visit(entry.group);
      else if (entry.address) out.push({ emailAddress: { address: entry.address, ...(entry.name ? { name: entry.name } : {}) } });
    }
  };
  for (const object of field === undefined ? [] : Array.isArray(field) ? field : [field]) visit(object.value);
  return out;
}

function fileAttachment(a: Attachment): FileAttachment {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    name: a.filename ?? 'attachment',
    contentType: a.contentType,
    contentBytes: a.content.toString('base64'),
    isInline: a.contentDisposition === 'inline' || a.related === true,
    ...(a.contentId ? { contentId: a.contentId.replace(/^<|>$/g, '') } : {}),
  };
}

/** The RFC 2822 message → Graph draft fields and file attachments. */
export async function draftFromMime(raw: Buffer): Promise<{ fields: DraftFields; attachments: FileAttachment[] }> {
  const mail = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true });
  const html = typeof mail.html === 'string' ? mail.html : null;
  return {
    fields: {
      subject: mail.subject ?? '',
      body: html !== null ? { contentType: 'HTML', content: html } : { contentType: 'Text', content: mail.text ?? '' },
      toRecipients: recipients(mail.to),
      ccRecipients: recipients(mail.cc),
      bccRecipients: recipients(mail.bcc),
      replyTo: recipients(mail.replyTo),
    },
    attachments: mail.attachments.map(fileAttachment),
  };
}

const bracketed = (id: string): string => (id.trim().startsWith('<') ? id.trim() : `<${id.trim()}>`);

/**
 * Our Message-ID, kept on the drafts we create as a named MAPI property: Exchange assigns a draft its own
 * internetMessageId, so this is how a retry finds what a crashed attempt made
 * (https://learn.microsoft.com/graph/api/resources/extended-properties-overview; PS_PUBLIC_STRINGS is the property
 * set for custom named string properties).
 */
export const OUTBOX_ID_PROPERTY = 'String {00020329-0000-0000-C000-000000000046} Name ThreadlineMessageId';
const tagged = (internetMessageId: string) => ({ singleValueExtendedProperties: [{ id: OUTBOX_ID_PROPERTY, value: bracketed(internetMessageId) }] });

export class GraphWriter implements MailboxWriter {
  constructor(private readonly client: GraphMailboxClient) {}

  async send(message: OutgoingMessage, hooks: SendHooks = {}): Promise<SentResult> {
    const { fields, attachments } = await draftFromMime(message.raw);
    let draft: GraphMessage;
    if (message.replyTo) {
      draft = await this.client.post<GraphMessage>(messagePath(message.replyTo.providerMessageId, '/createReply'), {});
      await this.discardOnRefusal(draft.id, async () => {
        // Our composed body and recipients replace the ones Outlook proposed (quoted original, reply-to list).
        await this.client.patch(messagePath(draft.id), { ...fields, ...tagged(message.internetMessageId) });
        for (const attachment of attachments) await this.client.post(messagePath(draft.id, '/attachments'), attachment);
      });
    } else {
      draft = await this.client.post<GraphMessage>('/me/messages', { ...fields, internetMessageId: bracketed(message.internetMessageId), attachments, ...tagged(message.internetMessageId) });
    }
    // The draft is complete: the caller records its immutable id before it can go out (port.ts SendHooks), so a
    // retry after a crash from here on resumes this draft rather than making and sending another. A draft made
    // before a crash that came earlier is never sent: the retry's findByInternetMessageId discards it.
    await hooks.prepared?.({ providerMessageId: draft.id });
    await this.sendDraft(draft.id);
    return { providerMessageId: draft.id, providerThreadId: draft.conversationId ?? null };
  }

  /**
   * Finishes a send whose draft id the caller recorded (port.ts). With immutable ids the draft keeps its id when
   * sending moves it to Sent Items ("Immutable ID with sending mail", https://learn.microsoft.com/graph/outlook-immutable-id;
   * an older revision of that page said the Sent copy gets a new id — then the GET below answers 404 and we say
   * 'gone', which sends nothing). Still a draft in Drafts → send it; a draft elsewhere (Deleted Items, Recoverable
   * Items) was discarded by the user → 'gone'; no longer a draft → already sent, its ids.
   */
  async resumePrepared(providerMessageId: string): Promise<SentResult | 'gone'> {
    let message: GraphMessage;
    try {
      message = await this.client.get<GraphMessage>(`${messagePath(providerMessageId)}${query({ $select: 'id,isDraft,conversationId,parentFolderId' })}`);
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_found') return 'gone';
      throw err;
    }
    const result: SentResult = { providerMessageId: message.id ?? providerMessageId, providerThreadId: message.conversationId ?? null };
    if (message.isDraft !== true) return result;
    const drafts = await this.client.get<{ id: string }>(`/me/mailFolders/drafts${query({ $select: 'id' })}`);
    if (message.parentFolderId !== drafts.id) return 'gone';
    try {
      await this.sendDraft(result.providerMessageId);
    } catch (err) {
      // Deleted between the GET and the send.
      if (err instanceof ProviderError && err.code === 'not_found') return 'gone';
      throw err;
    }
    return result;
  }

  private async sendDraft(draftId: string): Promise<void> {
    await this.discardOnRefusal(draftId, () => this.client.post(messagePath(draftId, '/send'), {}));
  }

  /** A refused step leaves no half-made draft behind; an unknown outcome (transient, throttled) keeps it: it may be sent. */
  private async discardOnRefusal<T>(draftId: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof ProviderError && err.code !== 'transient' && err.code !== 'throttled') {
        await this.client.delete(messagePath(draftId)).catch(() => undefined);
      }
      throw err;
    }
  }

  async findByInternetMessageId(internetMessageId: string): Promise<SentResult | null> {
    // OData string literals escape a quote by doubling it.
    const literal = bracketed(internetMessageId).replace(/'/g, "''");
    const page = await this.client.get<GraphPage<GraphMessage>>(
      `/me/messages${query({ $filter: `internetMessageId eq '${literal}'`, $select: 'id,conversationId,isDraft', $top: 10 })}`,
    );
    // An unsent draft is not a sent message: the send must still happen.
    const found = page.value.find((m) => m.isDraft !== true);
    if (found) return { providerMessageId: found.id, providerThreadId: found.conversationId ?? null };
    // What we made under this Message-ID, whatever id Exchange gave it: a sent one is the send; a draft still in
    // Drafts was left by an attempt that crashed before its id was recorded — the retry sends a complete one of its
    // own, so that one goes (else the user finds a stray unsent copy in Drafts). A draft moved elsewhere is theirs.
    const ours = await this.client.get<GraphPage<GraphMessage>>(
      `/me/messages${query({ $filter: `singleValueExtendedProperties/Any(ep: ep/id eq '${OUTBOX_ID_PROPERTY}' and ep/value eq '${literal}')`, $select: 'id,conversationId,isDraft,parentFolderId', $top: 10 })}`,
    );
    const sent = ours.value.find((m) => m.isDraft !== true);
    if (sent) return { providerMessageId: sent.id, providerThreadId: sent.conversationId ?? null };
    const drafts = ours.value.filter((m) => m.isDraft === true);
    if (drafts.length) {
      const draftsFolder = await this.client.get<{ id: string }>(`/me/mailFolders/drafts${query({ $select: 'id' })}`);
      for (const d of drafts) if (d.parentFolderId === draftsFolder.id) await this.client.delete(messagePath(d.id)).catch(() => undefined);
    }
    return null;
  }

  async modify(providerMessageId: string, change: { flags?: Partial<MessageFlags>; labelsAdded?: string[]; labelsRemoved?: string[] }): Promise<void> {
    const flags = change.flags ?? {};
    const added = change.labelsAdded ?? [];
    const removed = change.labelsRemoved ?? [];
    const needsCurrent = added.length > 0 || removed.length > 0 || flags.archived === false || flags.deleted === false;
    const current = needsCurrent
      ? await this.client.get<GraphMessage>(`${messagePath(providerMessageId)}${query({ $select: 'id,categories,parentFolderId' })}`)
      : null;
    const patch: Record<string, unknown> = {};
    if (flags.read !== undefined) patch.isRead = flags.read;
    if (flags.starred !== undefined) patch.flag = { flagStatus: flags.starred ? 'flagged' : 'notFlagged' };
    if (added.length || removed.length) {
      const drop = new Set(removed);
      patch.categories = [...new Set([...(current?.categories ?? []), ...added])].filter((c) => !drop.has(c));
    }
    if (Object.keys(patch).length) await this.client.patch(messagePath(providerMessageId), patch);

    // Folder moves last: the immutable id survives them, the PATCH above does not depend on the folder.
    if (flags.deleted === true) return this.trash(providerMessageId);
    if (flags.archived === true) return this.move(providerMessageId, 'archive');
    const folderIs = async (name: string): Promise<boolean> =>
      current?.parentFolderId === (await this.client.get<{ id: string }>(`/me/mailFolders/${name}${query({ $select: 'id' })}`)).id;
    // Un-archive / restore only move a message that is where that flag put it (not a Sent item, say).
    if (flags.deleted === false && (await folderIs('deleteditems'))) return this.move(providerMessageId, 'inbox');
    if (flags.archived === false && (await folderIs('archive'))) return this.move(providerMessageId, 'inbox');
  }

  trash(providerMessageId: string): Promise<void> {
    return this.move(providerMessageId, 'deleteditems');
  }

  private async move(providerMessageId: string, destinationId: string): Promise<void> {
    await this.client.post(messagePath(providerMessageId, '/move'), { destinationId });
  }
}
