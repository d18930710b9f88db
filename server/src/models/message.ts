/**
 * One email per organisation, however many mailboxes hold it (unique on `dedupKey`). Each mailbox's copy
 * is a `MailboxMessage`; `syncedBy` lists the users whose mailboxes hold it, `copyIds` the copies themselves.
 */
import { Schema, type Types } from 'mongoose';
import type { DecodingNote } from '../mail/message';
import { model, tenantSchema } from './define';

const address = new Schema({ email: { type: String, required: true }, name: { type: String, default: '' } }, { _id: false });
const attachment = new Schema(
  {
    id: { type: String, required: true },
    filename: { type: String, default: '' },
    mimeType: { type: String, default: 'application/octet-stream' },
    size: { type: Number, default: 0 },
    contentId: { type: String, default: null },
    inline: { type: Boolean, default: false },
  },
  { _id: false },
);

/** One place where the bytes did not say what they were and a charset was assumed (ingest/mime/mail-parser.ts). */
const decodingNote = new Schema(
  {
    where: { type: String, required: true },
    declared: { type: String, default: null },
    charset: { type: String, required: true },
    source: { type: String, required: true },
  },
  { _id: false },
);

const messageSchema = tenantSchema({
  /** `mid:<normalised Message-ID>` or `hash:<sha256>` when the message has none. */
  dedupKey: { type: String, required: true },
  internetMessageId: { type: String, default: null },
  inReplyTo: { type: String, default: null },
  references: { type: [String], default: [] },
  threadId: { type: Schema.Types.ObjectId, default: null },
  subject: { type: String, default: '' },
  from: { type: address, default: null },
  to: { type: [address], default: [] },
  cc: { type: [address], default: [] },
  bcc: { type: [address], default: [] },
  date: { type: Date, required: true },
  direction: { type: String, enum: ['inbound', 'outbound', 'internal'], required: true },
  snippet: { type: String, default: '' },
  text: { type: String, default: '' },
  html: { type: String, default: '' },
  hasAttachments: { type: Boolean, default: false },
  attachments: { type: [attachment], default: [] },
  /** Every normalised address on the message: the sidebar's lookup key. */
  participants: { type: [String], default: [] },
  contactIds: { type: [Schema.Types.ObjectId], default: [] },
  companyIds: { type: [Schema.Types.ObjectId], default: [] },
  dealIds: { type: [Schema.Types.ObjectId], default: [] },
  syncedBy: { type: [Schema.Types.ObjectId], default: [] },
  /**
   * The `_id`s of its copies (`mailboxMessages`), so a listing that read the message reads its copies by `_id` next
   * (store/activity.ts copiesOf). Written with the message or added by `$addToSet` before the copy's own insert is
   * relied on (ingest/holders.ts), so an id may name a copy whose insert failed: a reader skips it, and the
   * rebuild drops it. Absent on mail an organisation stored before copy ids lived here (models/org.ts
   * `copiesOnMessages`).
   */
  copyIds: { type: [Schema.Types.ObjectId], default: undefined },
  /**
   * A holder's sharing level for this one message, overriding their own (crm/visibility.ts): each holder in at
   * most one list. Absent until someone sets one; taken out with the holder's last copy (ingest/removal.ts).
   */
  levelOverrides: {
    private: { type: [Schema.Types.ObjectId], default: undefined },
    metadata: { type: [Schema.Types.ObjectId], default: undefined },
    full: { type: [Schema.Types.ObjectId], default: undefined },
  },
  /** Set when the MIME could not be parsed: the raw copy is kept and the message flagged, never dropped. */
  malformed: { type: new Schema({ reason: String, raw: Buffer }, { _id: false }), default: null },
  /**
   * What the MIME reading had to assume (empty: everything decoded as declared). A message with notes, or a
   * malformed one, is what `npm run reparse` reads again when the parser improves (docs/MIME.md).
   */
  decoding: { type: [decodingNote], default: undefined },
  /**
   * PARSER_VERSION (ingest/parse.ts) of the MIME reading the content came from; null when it came from the provider's
   * structured JSON (Graph), absent on mail stored before versions were recorded.
   */
  parserVersion: { type: Number, default: undefined },
});
messageSchema.index({ orgId: 1, dedupKey: 1 }, { unique: true });
messageSchema.index({ orgId: 1, participants: 1, date: -1 });
messageSchema.index({ orgId: 1, contactIds: 1, date: -1 });
messageSchema.index({ orgId: 1, companyIds: 1, date: -1 });
messageSchema.index({ orgId: 1, threadId: 1, date: 1 });

export interface AddressValue {
  email: string;
  name: string;
}
export interface MessageDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  dedupKey: string;
  internetMessageId: string | null;
  inReplyTo: string | null;
  references: string[];
  threadId: Types.ObjectId | null;
  subject: string;
  from: AddressValue | null;
  to: AddressValue[];
  cc: AddressValue[];
  date: Date;
  direction: 'inbound' | 'outbound' | 'internal';
  snippet: string;
  text: string;
  html: string;
  hasAttachments: boolean;
  attachments: { id: string; filename: string; mimeType: string; size: number }[];
  participants: string[];
  contactIds: Types.ObjectId[];
  companyIds: Types.ObjectId[];
  dealIds: Types.ObjectId[];
  syncedBy: Types.ObjectId[];
  copyIds?: Types.ObjectId[];
  levelOverrides?: { private?: Types.ObjectId[]; metadata?: Types.ObjectId[]; full?: Types.ObjectId[] } | null;
  malformed: { reason: string; raw: Buffer } | null;
  decoding?: DecodingNoteValue[];
  parserVersion?: number | null;
}

export interface DecodingNoteValue {
  where: string;
  declared: string | null;
  charset: string;
  source: DecodingNote['source'];
}

export const Message = model<MessageDoc>('Message', messageSchema);
