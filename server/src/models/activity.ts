/**
 * Notes and tasks on a CRM record (a contact, a company or a deal), added from a sidebar or the API. A task has a
 * due date and an assignee (a user of the organisation; the author by default) and is done or not.
 */
import { Schema, type Types } from 'mongoose';
import { model, tenantSchema } from './define';

export type RecordKind = 'contact' | 'company' | 'deal';
const RECORD_KINDS: RecordKind[] = ['contact', 'company', 'deal'];

const target = {
  kind: { type: String, enum: RECORD_KINDS, required: true },
  id: { type: Schema.Types.ObjectId, required: true },
};

const noteSchema = tenantSchema({
  record: target,
  authorId: { type: Schema.Types.ObjectId, required: true },
  body: { type: String, required: true },
});
noteSchema.index({ orgId: 1, 'record.kind': 1, 'record.id': 1, createdAt: -1 });

const taskSchema = tenantSchema({
  record: target,
  authorId: { type: Schema.Types.ObjectId, required: true },
  assigneeId: { type: Schema.Types.ObjectId, required: true },
  title: { type: String, required: true },
  dueDate: { type: Date, default: null },
  done: { type: Boolean, default: false },
});
taskSchema.index({ orgId: 1, 'record.kind': 1, 'record.id': 1, createdAt: -1 });
taskSchema.index({ orgId: 1, assigneeId: 1, done: 1, dueDate: 1 });

export interface RecordRef {
  kind: RecordKind;
  id: Types.ObjectId;
}
export interface NoteDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  record: RecordRef;
  authorId: Types.ObjectId;
  body: string;
  createdAt: Date;
  updatedAt: Date;
}
export interface TaskDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  record: RecordRef;
  authorId: Types.ObjectId;
  assigneeId: Types.ObjectId;
  title: string;
  dueDate: Date | null;
  done: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const Note = model<NoteDoc>('Note', noteSchema);
export const Task = model<TaskDoc>('Task', taskSchema);
