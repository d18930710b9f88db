/**
 * Messages: summaries and details as every read route answers them, sending from the CRM, state written through
 * to the mailbox, and "this email, my choice" (don't log it, or share it differently).
 */
import { z } from 'zod';
import { Address, Direction, instant, MessageFlags, objectId, SharingLevel } from './common';

export const MessageSummary = z.object({
  id: z.string(),
  threadId: z.string().nullable(),
  internetMessageId: z.string().nullable(),
  subject: z.string(),
  from: Address,
  to: z.array(Address),
  cc: z.array(Address),
  date: instant,
  direction: Direction,
  snippet: z.string(),
  hasAttachments: z.boolean(),
  state: MessageFlags,
  labels: z.array(z.string()),
  syncedBy: z.array(z.string()),
});
export type MessageSummary = z.infer<typeof MessageSummary>;

export const MessageDetail = MessageSummary.extend({
  text: z.string(),
  html: z.string(),
  attachments: z.array(z.object({ id: z.string(), filename: z.string(), mimeType: z.string(), size: z.number().int() })),
  mailboxes: z.array(z.object({ mailboxId: z.string(), address: z.string() })),
  /**
   * Where the mail did not say (or misstated) its charset and one was assumed: `where` is `header:<name>` or
   * `body:<content type>`, `source` how the charset was chosen. Empty when everything decoded as declared, and for
   * mail the provider gave as structured data.
   */
  decoding: z.array(
    z.object({
      where: z.string(),
      declared: z.string().nullable(),
      charset: z.string(),
      source: z.enum(['utf-8', 'detected', 'windows-1252', 'declared']),
    }),
  ),
});
export type MessageDetail = z.infer<typeof MessageDetail>;

/** A page of a timeline, newest first; `nextCursor` is opaque and null on the last page. */
export const MessagePage = z.object({ messages: z.array(MessageSummary), nextCursor: z.string().nullable() });
export type MessagePage = z.infer<typeof MessagePage>;

export const ThreadView = z.object({ id: z.string(), subject: z.string(), messages: z.array(MessageSummary) });
export type ThreadView = z.infer<typeof ThreadView>;

/** The paging query of every timeline. */
export const PageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(200).optional(),
  })
  .strict();

// ---- Sending from the CRM (POST /api/messages) ------------------------------------------------------------------

/** No CR/LF in anything that becomes a header: nodemailer encodes, but a clear 400 beats a silently altered header. */
export const headerText = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\r\n]*$/, 'must be a single line');

/** A recipient; the server also checks that `email` is an address it can normalise. */
export const SendAddress = z.object({ email: z.string().max(254), name: headerText(256).optional() }).strict();

/** The body of POST /api/messages, with the recipient schema given (the server's checks each address). */
export function sendRequestOf<A extends z.ZodType>(address: A) {
  const recipients = z.array(address).max(100);
  return z
    .object({
      mailboxId: objectId('mailbox'),
      to: recipients.min(1, 'at least one recipient is required'),
      cc: recipients.optional(),
      bcc: recipients.optional(),
      subject: headerText(998),
      text: z.string().max(1_000_000).optional(),
      html: z.string().max(2_000_000).optional(),
      replyToMessageId: objectId('message').optional(),
      attachments: z
        .array(
          z
            .object({
              filename: headerText(255).min(1),
              contentType: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a MIME type such as application/pdf'),
              contentBase64: z.string(),
            })
            .strict(),
        )
        .max(20)
        .optional(),
    })
    .strict()
    .refine((b) => b.text !== undefined || b.html !== undefined, { message: 'text or html is required', path: ['text'] });
}
export const SendRequest = sendRequestOf(SendAddress);
export type SendRequest = z.input<typeof SendRequest>;

/** The 202 of a send: `id` is the CRM message id. */
export const SendAccepted = z.object({ id: z.string(), status: z.enum(['queued', 'sending', 'sent', 'failed']) });
export type SendAccepted = z.infer<typeof SendAccepted>;

// ---- State written through (PATCH / DELETE /api/messages/:id) ----------------------------------------------------

/** A label (Gmail) or category (Outlook) by the name people see; the provider's own state labels are refused by the server. */
const label = z.string().min(1).max(225);
const labelList = z.array(label).max(50).default([]);

export const StateChange = z
  .object({
    read: z.boolean().optional(),
    starred: z.boolean().optional(),
    archived: z.boolean().optional(),
    labels: z.object({ add: labelList, remove: labelList }).strict().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change', path: ['read'] });
export type StateChange = z.input<typeof StateChange>;

/** The caller's copy after a state change or a trash. */
export const CopyState = z.object({ id: z.string(), state: MessageFlags, labels: z.array(z.string()) });
export type CopyState = z.infer<typeof CopyState>;

// ---- This email, my choice -------------------------------------------------------------------------------------

/** One of the caller's "don't log" choices: ids, scope and date only. */
export const Exclusion = z.object({ id: z.string(), scope: z.enum(['message', 'thread']), createdAt: instant });
export type Exclusion = z.infer<typeof Exclusion>;

/** The caller's holding of one email: what teammates get of it through the caller's copy. */
export const HoldingSharing = z.object({ level: SharingLevel, override: SharingLevel.nullable(), defaultLevel: SharingLevel });
export type HoldingSharing = z.infer<typeof HoldingSharing>;

/**
 * "This email, my choice": what the caller decided for one email (`GET /api/messages/:id/choices`, and the sidebars'
 * `thisMessage.choices`). `notLogged`: the caller's choice covering it (its own, else its thread's), null when the
 * rules decide; `sharing`: null when none of the caller's mailboxes holds it (nothing of theirs to share).
 */
export const MessageChoices = z.object({ notLogged: Exclusion.nullable(), sharing: HoldingSharing.nullable() });
export type MessageChoices = z.infer<typeof MessageChoices>;

/** PUT /api/messages/:id/visibility: this email private or shared, for the caller's own holding; null: their default. */
export const VisibilityRequest = z
  .object({
    level: z.enum(SharingLevel.options, { message: 'must be one of private, metadata, full, or null for your default' }).nullable(),
  })
  .strict();

export const VisibilityAnswer = z.object({ messageId: z.string(), sharing: HoldingSharing });

/** POST /api/me/excluded-messages: exactly one of `messageId` and `internetMessageId` (checked by the route). */
export const ExcludeMessageRequest = z
  .object({
    messageId: z
      .string()
      .regex(/^[0-9a-f]{24}$/i, 'must be a message id')
      .optional(),
    internetMessageId: z.string().min(1).max(1000).optional(),
    scope: z.enum(['message', 'thread'], { message: 'must be message or thread' }),
  })
  .strict();

export const ExclusionResult = Exclusion.extend({
  created: z.boolean(),
  removed: z.object({ copies: z.number().int(), messages: z.number().int() }),
});
export const ExclusionList = z.object({ exclusions: z.array(Exclusion.extend({ copies: z.number().int() })) });
export const LoggedAgain = Exclusion.extend({ reimport: z.object({ messages: z.number().int(), reconcile: z.boolean() }) });
