/**
 * Graph's MailboxWriter (docs/SYNC.md "Sending from the CRM", "State both ways").
 *
 * Sending: `sendMail` answers 202 with no id (https://learn.microsoft.com/graph/api/user-sendmail), so a new mail
 * is created as a draft (`POST /me/messages`) and the draft is sent (`POST /me/messages/{id}/send`); a reply is a
 * `createReply` draft on the original (which keeps the conversation and the In-Reply-To/References), patched with
 * our body and recipients, then sent. With immutable ids the draft keeps its id when it moves to Sent Items, so the
 * id returned is the Sent copy's id. The JSON message is made from the fields the outbound stage composed the MIME
 * from (OutgoingMessage.fields), not from the MIME: Graph's MIME upload (`Content-Type: text/plain`, base64) cannot be
 * combined with createReply, and our own mail need not be parsed back. The Message-ID we assigned is set as `internetMessageId` on every draft, replies
 * included (writable while the item is a draft: https://learn.microsoft.com/graph/api/message-update), and after
 * sending the Sent copy's own is read back and returned, so the CRM keeps the one that went out even where Exchange
 * assigned another. Since that may happen, a crash between send and record cannot rely on findByInternetMessageId: `send` reports the complete draft's
 * immutable id through `hooks.prepared` before sending it, and `resumePrepared` finishes or recognises that send
 * on a retry (docs/SYNC.md "Sending from the CRM", port.ts SendHooks).
 *
 * State: isRead, flag and categories by PATCH (categories need the current list: Graph replaces the whole set);
 * archive / unarchive and delete / undelete by moves between Inbox, Archive and Deleted Items. Trash is a move to
 * Deleted Items — never DELETE, which puts the item in Recoverable Items, out of the user's sight
 * (https://learn.microsoft.com/graph/api/message-delete).
 */
import {
  ProviderError,
  type MailboxWriter,
  type MessageFlags,
  type OutgoingAddress,
  type OutgoingAttachment,
  type OutgoingFields,
  type OutgoingMessage,
  type SendHooks,
  type SentResult,
} from '../port';
import { retrying, systemClock, type Clock } from '../../../async/retry';
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

const recipient = (a: OutgoingAddress): GraphRecipient => ({ emailAddress: { address: a.email, ...(a.name ? { name: a.name } : {}) } });

/** Our sends attach files; nothing they send is inline (compose.ts sets no Content-ID). */
const fileAttachment = (a: OutgoingAttachment): FileAttachment => ({
  '@odata.type': '#microsoft.graph.fileAttachment',
  name: a.filename || 'attachment',
  contentType: a.contentType,
  contentBytes: a.content.toString('base64'),
  isInline: false,
});

/** The message's fields → Graph draft fields and file attachments; the HTML body when there is one (as in the MIME). */
export function draftFrom(message: OutgoingFields): { fields: DraftFields; attachments: FileAttachment[] } {
  return {
    fields: {
      subject: message.subject,
      body: message.html !== undefined ? { contentType: 'HTML', content: message.html } : { contentType: 'Text', content: message.text ?? '' },
      toRecipients: message.to.map(recipient),
      ccRecipients: message.cc.map(recipient),
      bccRecipients: message.bcc.map(recipient),
      // Empty: on a createReply draft, this replaces the reply-to list Outlook proposed (our mail names none).
      replyTo: [],
    },
    attachments: message.attachments.map(fileAttachment),
  };
}

const bracketed = (id: string): string => (id.trim().startsWith('<') ? id.trim() : `<${id.trim()}>`);
const sentResultOf = (m: GraphMessage): SentResult => ({
  providerMessageId: m.id,
  providerThreadId: m.conversationId ?? null,
  internetMessageId: m.internetMessageId ?? null,
});

/**
 * Our Message-ID, kept on the drafts we create as a named MAPI property: Exchange assigns a draft its own
 * internetMessageId, so this is how a retry finds what a crashed attempt made
 * (https://learn.microsoft.com/graph/api/resources/extended-properties-overview; PS_PUBLIC_STRINGS is the property
 * set for custom named string properties).
 */
export const OUTBOX_ID_PROPERTY = 'String {00020329-0000-0000-C000-000000000046} Name ThreadlineMessageId';
const tagged = (internetMessageId: string) => ({ singleValueExtendedProperties: [{ id: OUTBOX_ID_PROPERTY, value: bracketed(internetMessageId) }] });

/**
 * "Retrieving the message in the Sent Items folder might not succeed immediately after sending it. The copy of the
 * message won't be created until the message is successfully sent, which can take time."
 * (https://learn.microsoft.com/graph/outlook-immutable-id, "Immutable ID with sending mail"). A sent draft's id that
 * answers 404 is asked again, 100 ms, 200 ms … apart, for about this long in all, before it is taken as gone.
 */
export const SENT_COPY_WAIT_MS = 2_000;

export class GraphWriter implements MailboxWriter {
  constructor(
    private readonly client: GraphMailboxClient,
    private readonly opts: { sentCopyWaitMs?: number; clock?: Pick<Clock, 'sleep'> } = {},
  ) {}

  /** GET of a message just sent, or about to be found sent: a 404 is asked again while the copy may be in transit. */
  private getSent<T>(path: string): Promise<T> {
    const waitMs = this.opts.sentCopyWaitMs ?? SENT_COPY_WAIT_MS;
    // Backoffs 100 · 2^n ms: the tries that fit in waitMs.
    let retries = 0;
    for (let total = 100; total <= waitMs; total += 100 * 2 ** (retries + 1)) retries += 1;
    return retrying(() => this.client.get<T>(path), {
      retries,
      baseMs: 100,
      retryable: (err) => err instanceof ProviderError && err.code === 'not_found',
      clock: this.opts.clock ?? systemClock,
    });
  }

  async send(message: OutgoingMessage, hooks: SendHooks = {}): Promise<SentResult> {
    const { fields, attachments } = draftFrom(message.fields);
    const ourId = bracketed(message.internetMessageId);
    let draft: GraphMessage;
    if (message.replyTo) {
      draft = await this.client.post<GraphMessage>(messagePath(message.replyTo.providerMessageId, '/createReply'), {});
      await this.discardOnRefusal(draft.id, async () => {
        // Our composed body and recipients replace the ones Outlook proposed (quoted original, reply-to list), and
        // our Message-ID replaces the one Exchange gave the draft: internetMessageId is "Updatable only if
        // isDraft = true" (https://learn.microsoft.com/graph/api/message-update).
        await this.client.patch(messagePath(draft.id), { ...fields, internetMessageId: ourId, ...tagged(message.internetMessageId) });
        for (const attachment of attachments) await this.client.post(messagePath(draft.id, '/attachments'), attachment);
      });
    } else {
      draft = await this.client.post<GraphMessage>('/me/messages', { ...fields, internetMessageId: ourId, attachments, ...tagged(message.internetMessageId) });
      // Whether a create keeps a client's internetMessageId is not documented (the update page is the one that
      // says it is writable on drafts): when the draft came back with Exchange's own, set ours while it is a draft.
      if (draft.internetMessageId !== ourId) {
        await this.discardOnRefusal(draft.id, () => this.client.patch(messagePath(draft.id), { internetMessageId: ourId }));
      }
    }
    // The draft is complete: the caller records its immutable id before it can go out (port.ts SendHooks), so a
    // retry after a crash from here on resumes this draft rather than making and sending another. A draft made
    // before a crash that came earlier is never sent: the retry's findByInternetMessageId discards it.
    await hooks.prepared?.({ providerMessageId: draft.id });
    await this.sendDraft(draft.id);
    return this.sentCopy(draft.id, draft.conversationId ?? null, message.internetMessageId);
  }

  /**
   * The sent copy as Exchange holds it, for the Message-ID that actually went out (the CRM adopts it when it is not
   * ours). With immutable ids the Sent Items copy keeps the draft's id (https://learn.microsoft.com/graph/outlook-immutable-id);
   * should it not (an older revision of that page), it is found by the property we tagged it with.
   */
  private async sentCopy(draftId: string, conversationId: string | null, internetMessageId: string): Promise<SentResult> {
    try {
      const copy = await this.getSent<GraphMessage>(`${messagePath(draftId)}${query({ $select: 'id,conversationId,internetMessageId' })}`);
      return {
        providerMessageId: copy.id ?? draftId,
        providerThreadId: copy.conversationId ?? conversationId,
        internetMessageId: copy.internetMessageId ?? null,
      };
    } catch (err) {
      // It went out: a failed look-up must not make the send look failed (a retry would find it sent anyway).
      if (!(err instanceof ProviderError && err.code === 'not_found')) return { providerMessageId: draftId, providerThreadId: conversationId };
    }
    return (await this.findTagged(internetMessageId).catch(() => null))?.sent ?? { providerMessageId: draftId, providerThreadId: conversationId };
  }

  /**
   * Finishes a send whose draft id the caller recorded (port.ts). With immutable ids the draft keeps its id when
   * sending moves it to Sent Items ("Immutable ID with sending mail", https://learn.microsoft.com/graph/outlook-immutable-id;
   * an older revision of that page said the Sent copy gets a new id — then the GET below answers 404 and we say
   * 'gone', which sends nothing; a copy still in transit after a send answers 404 too, for a while: getSent). Still a
   * draft in Drafts → send it; a draft elsewhere (Deleted Items, Recoverable Items) was discarded by the user →
   * 'gone'; no longer a draft → already sent, its ids.
   */
  async resumePrepared(providerMessageId: string): Promise<SentResult | 'gone'> {
    let message: GraphMessage;
    try {
      message = await this.getSent<GraphMessage>(
        `${messagePath(providerMessageId)}${query({ $select: 'id,isDraft,conversationId,parentFolderId,internetMessageId' })}`,
      );
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_found') return 'gone';
      throw err;
    }
    const result: SentResult = {
      providerMessageId: message.id ?? providerMessageId,
      providerThreadId: message.conversationId ?? null,
      internetMessageId: message.internetMessageId ?? null,
    };
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
      `/me/messages${query({ $filter: `internetMessageId eq '${literal}'`, $select: 'id,conversationId,isDraft,internetMessageId', $top: 10 })}`,
    );
    // An unsent draft is not a sent message: the send must still happen.
    const found = page.value.find((m) => m.isDraft !== true);
    if (found) return sentResultOf(found);
    // What we made under this Message-ID, whatever id Exchange gave it: a sent one is the send; a draft still in
    // Drafts was left by an attempt that crashed before its id was recorded — the retry sends a complete one of its
    // own, so that one goes (else the user finds a stray unsent copy in Drafts). A draft moved elsewhere is theirs.
    const { sent, drafts } = await this.findTagged(internetMessageId);
    if (sent) return sent;
    if (drafts.length) {
      const draftsFolder = await this.client.get<{ id: string }>(`/me/mailFolders/drafts${query({ $select: 'id' })}`);
      for (const d of drafts) if (d.parentFolderId === draftsFolder.id) await this.client.delete(messagePath(d.id)).catch(() => undefined);
    }
    return null;
  }

  /** The items we tagged with this Message-ID (OUTBOX_ID_PROPERTY): the sent one, and any unsent drafts. */
  private async findTagged(internetMessageId: string): Promise<{ sent: SentResult | null; drafts: GraphMessage[] }> {
    const literal = bracketed(internetMessageId).replace(/'/g, "''");
    const ours = await this.client.get<GraphPage<GraphMessage>>(
      `/me/messages${query({ $filter: `singleValueExtendedProperties/Any(ep: ep/id eq '${OUTBOX_ID_PROPERTY}' and ep/value eq '${literal}')`, $select: 'id,conversationId,isDraft,parentFolderId,internetMessageId', $top: 10 })}`,
    );
    const sent = ours.value.find((m) => m.isDraft !== true);
    return { sent: sent ? sentResultOf(sent) : null, drafts: ours.value.filter((m) => m.isDraft === true) };
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
