/** CRM records: contacts, companies, deals, notes and tasks, the sidebar's context, and a deal's attached mail. */
import { z } from 'zod';
import { instant, objectId } from './common';
import { MessageSummary } from './messages';

export const Contact = z.object({
  id: z.string(),
  emails: z.array(z.string()),
  /** The first of `emails`. */
  email: z.string(),
  name: z.string(),
  title: z.string(),
  phone: z.string(),
  companyId: z.string().nullable(),
  source: z.enum(['manual', 'auto']),
});
export type Contact = z.infer<typeof Contact>;
export const ContactList = z.object({ contacts: z.array(Contact) });

export const Company = z.object({ id: z.string(), name: z.string(), domains: z.array(z.string()) });
export type Company = z.infer<typeof Company>;

const text = (max: number) => z.string().trim().max(max);
/** An address as the contact routes take it; the server normalises it (and names the field when it cannot). */
export const contactEmail = z.string().max(320);

export const ContactSearch = z.object({ q: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(100).default(25) }).strict();

export function contactCreateOf<E extends z.ZodType>(email: E) {
  return z.object({ email, name: text(200).optional(), companyName: text(200).optional(), title: text(200).optional(), phone: text(50).optional() }).strict();
}
export const ContactCreate = contactCreateOf(contactEmail);
export type ContactCreate = z.input<typeof ContactCreate>;

export function contactPatchOf<E extends z.ZodType<string>, I extends z.ZodType>(email: E, id: I) {
  return z
    .object({
      emails: z
        .array(email)
        .min(1)
        .max(20)
        .transform((list) => [...new Set(list)]),
      name: text(200),
      title: text(200),
      phone: text(50),
      companyId: id.nullable(),
    })
    .partial()
    .strict()
    .refine((b) => Object.keys(b).length > 0, 'nothing to change');
}
export const ContactPatch = contactPatchOf(contactEmail, objectId('company'));
export type ContactPatch = z.input<typeof ContactPatch>;

export const DealStatus = z.enum(['open', 'won', 'lost']);

export const Deal = z.object({
  id: z.string(),
  name: z.string(),
  stage: z.string(),
  status: DealStatus,
  amount: z.number().nullable(),
  currency: z.string(),
  closeDate: instant.nullable(),
  ownerId: z.string().nullable(),
  contactIds: z.array(z.string()),
  companyId: z.string().nullable(),
});
export type Deal = z.infer<typeof Deal>;
export const DealList = z.object({ deals: z.array(Deal) });

/** A deal's fields as POST and PATCH take them, with the id schema given (the server's makes ObjectIds). */
export function dealFieldsOf<I extends z.ZodType>(id: (what: string) => I) {
  return {
    name: z.string().trim().min(1).max(200),
    stage: z.string().trim().min(1).max(100),
    status: DealStatus,
    amount: z.number().finite().min(0).max(1e12).nullable(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
    closeDate: z
      .string()
      .datetime({ offset: true })
      .transform((s) => new Date(s))
      .nullable(),
    ownerId: id('user').nullable(),
    contactIds: z.array(id('contact')).max(200),
    companyId: id('company').nullable(),
  };
}
export const dealCreateOf = <I extends z.ZodType>(fields: ReturnType<typeof dealFieldsOf<I>>) => z.object(fields).partial().required({ name: true }).strict();
export const dealPatchOf = <I extends z.ZodType>(fields: ReturnType<typeof dealFieldsOf<I>>) =>
  z
    .object(fields)
    .partial()
    .strict()
    .refine((b) => Object.keys(b).length > 0, 'nothing to change');
export const DealCreate = dealCreateOf(dealFieldsOf(objectId));
export type DealCreate = z.input<typeof DealCreate>;
export const DealPatch = dealPatchOf(dealFieldsOf(objectId));
export type DealPatch = z.input<typeof DealPatch>;

export function dealListOf<I extends z.ZodType>(id: (what: string) => I) {
  return z
    .object({
      contactId: id('contact').optional(),
      companyId: id('company').optional(),
      status: DealStatus.optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    })
    .strict();
}
export const DealListQuery = dealListOf(objectId);

/** POST /api/deals/:id/mail: the open email (by Message-ID), or its whole thread, becomes part of the deal's mail. */
export const DealMailRequest = z
  .object({
    internetMessageId: z.string().trim().min(1).max(2000),
    scope: z.enum(['message', 'thread']).default('thread'),
  })
  .strict();
export const DealMailResult = z.object({
  deal: Deal,
  attached: z.object({ scope: z.enum(['message', 'thread']), messages: z.number().int() }),
});

/** `GET /api/context`: the people of some addresses, their deals and the recent mail the caller may see. */
export const SidebarContext = z.object({
  participants: z.array(z.object({ email: z.string(), contact: Contact.nullable(), company: Company.nullable() })),
  deals: z.array(Deal),
  recentMessages: z.array(MessageSummary).max(10),
});
export type SidebarContext = z.infer<typeof SidebarContext>;

// ---- Notes and tasks -------------------------------------------------------------------------------------------

export const RecordKind = z.enum(['contact', 'company', 'deal']);
export type RecordKind = z.infer<typeof RecordKind>;

export const Note = z.object({
  id: z.string(),
  record: z.object({ kind: RecordKind, id: z.string() }),
  authorId: z.string(),
  body: z.string(),
  createdAt: instant,
});
export type Note = z.infer<typeof Note>;
export const NoteList = z.object({ notes: z.array(Note) });

export const Task = z.object({
  id: z.string(),
  record: z.object({ kind: RecordKind, id: z.string() }),
  authorId: z.string(),
  assigneeId: z.string(),
  title: z.string(),
  dueDate: instant.nullable(),
  done: z.boolean(),
  createdAt: instant,
});
export type Task = z.infer<typeof Task>;
export const TaskList = z.object({ tasks: z.array(Task) });

/** A day (`2026-03-31`, due at its end in UTC) or an instant with its offset. */
const due = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const day = /^\d{4}-\d{2}-\d{2}$/.test(s) ? new Date(`${s}T23:59:59.999Z`) : new Date(s);
    if (!/^\d{4}-\d{2}-\d{2}($|T)/.test(s) || Number.isNaN(day.getTime())) ctx.addIssue({ code: 'custom', message: 'must be a date such as 2026-03-31' });
    return day;
  });
const MAX_LIST = 200;

/** The activity routes' inputs, with the id schema given (the server's makes ObjectIds). */
export function activityInputsOf<I extends z.ZodType>(id: (what: string) => I) {
  const record = z.object({ kind: RecordKind, id: id('record') }).strict();
  const byRecord = z.object({ kind: RecordKind, id: id('record'), limit: z.coerce.number().int().min(1).max(MAX_LIST).default(50) }).strict();
  return {
    noteCreate: z.object({ record, body: z.string().trim().min(1).max(10_000) }).strict(),
    taskCreate: z
      .object({
        record,
        title: z.string().trim().min(1).max(500),
        dueDate: due.nullable().optional(),
        assigneeEmail: z.string().trim().toLowerCase().max(320).optional(),
      })
      .strict(),
    taskPatch: z
      .object({ done: z.boolean(), title: z.string().trim().min(1).max(500), dueDate: due.nullable() })
      .partial()
      .strict()
      .refine((b) => Object.keys(b).length > 0, 'nothing to change'),
    byRecord,
    taskList: z.union([
      byRecord,
      z
        .object({ assignee: z.literal('me'), done: z.enum(['true', 'false']).optional(), limit: z.coerce.number().int().min(1).max(MAX_LIST).default(50) })
        .strict(),
    ]),
  };
}
export const ActivityInputs = activityInputsOf(objectId);
export type NoteCreate = z.input<typeof ActivityInputs.noteCreate>;
export type TaskCreate = z.input<typeof ActivityInputs.taskCreate>;
export type TaskPatch = z.input<typeof ActivityInputs.taskPatch>;
