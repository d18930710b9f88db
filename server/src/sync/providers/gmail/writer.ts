/**
 * Gmail MailboxWriter: send (messages.send), look-up by Message-ID (crash recovery), state write-through
 * (messages.modify / trash / untrash).
 */
import { ProviderError, type MailboxWriter, type MessageFlags, type OutgoingMessage, type SentResult } from '../port';
import type { GmailClient } from './client';
import type { GmailLabelCatalogue } from './label-catalogue';
import { labelEditForChange } from './labels';

const USER = 'me';

/** Gmail's `rfc822msgid:` takes the id without angle brackets (https://support.google.com/mail/answer/7190). */
export function rfc822MsgIdQuery(internetMessageId: string): string {
  const bare = internetMessageId.trim().replace(/^<|>$/g, '');
  if (!bare || /[\s"]/.test(bare)) throw new ProviderError('invalid', 'Not a usable Message-ID for a Gmail search');
  return `rfc822msgid:${bare}`;
}

export class GmailWriter implements MailboxWriter {
  constructor(
    private readonly client: GmailClient,
    private readonly labels: GmailLabelCatalogue,
  ) {}

  async send(message: OutgoingMessage): Promise<SentResult> {
    // Gmail files a sent message into the given thread only if its References / In-Reply-To point into that
    // thread AND the Subject matches; the outbound stage builds those headers, we pass the thread id
    // (https://developers.google.com/gmail/api/guides/sending#sending_messages and …/guides/threads).
    let threadId: string | null = null;
    if (message.replyTo) threadId = message.replyTo.providerThreadId ?? (await this.threadOf(message.replyTo.providerMessageId));
    // Never retried here: a send that failed after reaching Gmail may have gone out; the engine looks the
    // Message-ID up (findByInternetMessageId) before trying again.
    const sent = await this.client.call('messages.send', (api) =>
      api.users.messages.send({
        userId: USER,
        requestBody: { raw: message.raw.toString('base64url'), ...(threadId ? { threadId } : {}) },
      }),
    );
    if (!sent.id) throw new ProviderError('invalid', 'Gmail: send answer without id', { providerCode: 'malformedResponse' });
    return { providerMessageId: sent.id, providerThreadId: sent.threadId ?? null, internetMessageId: await this.sentMessageId(sent.id) };
  }

  async findByInternetMessageId(internetMessageId: string): Promise<SentResult | null> {
    // Spam and trash included: a sent message the user already trashed was still sent.
    const answer = await this.client.call(
      'messages.list',
      (api) => api.users.messages.list({ userId: USER, q: rfc822MsgIdQuery(internetMessageId), includeSpamTrash: true, maxResults: 10 }),
      { retries: 2 },
    );
    const first = answer.messages?.find((m) => m.id);
    return first?.id ? { providerMessageId: first.id, providerThreadId: first.threadId ?? null } : null;
  }

  async modify(providerMessageId: string, change: { flags?: Partial<MessageFlags>; labelsAdded?: string[]; labelsRemoved?: string[] }): Promise<void> {
    const { deleted, ...flags } = change.flags ?? {};
    // The CRM writes label names; Gmail takes ids, and a label the mailbox lacks is made for an add (label-catalogue.ts).
    const edit = labelEditForChange({
      flags,
      labelsAdded: change.labelsAdded?.length ? await this.labels.idsOf(change.labelsAdded, { create: true }) : [],
      labelsRemoved: change.labelsRemoved?.length ? await this.labels.idsOf(change.labelsRemoved, { create: false }) : [],
    });
    if (edit.addLabelIds.length || edit.removeLabelIds.length) {
      await this.client.call('messages.modify', (api) => api.users.messages.modify({ userId: USER, id: providerMessageId, requestBody: edit }));
    }
    // Trash is a method of its own; with the gmail.modify scope nothing can be deleted for good (docs/SYNC.md "Deletion policy").
    if (deleted === true) await this.trash(providerMessageId);
    if (deleted === false) await this.client.call('messages.untrash', (api) => api.users.messages.untrash({ userId: USER, id: providerMessageId }));
  }

  async trash(providerMessageId: string): Promise<void> {
    await this.client.call('messages.trash', (api) => api.users.messages.trash({ userId: USER, id: providerMessageId }));
  }

  private async threadOf(providerMessageId: string): Promise<string | null> {
    const message = await this.client.call('messages.get', (api) => api.users.messages.get({ userId: USER, id: providerMessageId, format: 'minimal' }), {
      retries: 2,
    });
    return message.threadId ?? null;
  }

  /**
   * The Message-ID of the copy Gmail filed under SENT: the one that went out, which the CRM adopts should Gmail have
   * put its own in place of ours. A failed look-up is not a failed send (it went out): undefined, nothing adopted.
   */
  private async sentMessageId(providerMessageId: string): Promise<string | null | undefined> {
    try {
      const copy = await this.client.call(
        'messages.get',
        (api) => api.users.messages.get({ userId: USER, id: providerMessageId, format: 'metadata', metadataHeaders: ['Message-ID'] }),
        { retries: 2 },
      );
      return copy.payload?.headers?.find((h) => h.name?.toLowerCase() === 'message-id')?.value ?? null;
    } catch {
      return undefined;
    }
  }
}
