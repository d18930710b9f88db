/**
 * Notes and tasks on a contact, company or deal (docs/sidebars.md): added from either sidebar or the API, listed per
 * record (newest first) for the record's timeline, and tasks per assignee. A task's assignee is a user of the
 * organisation, by address; the author when none is given.
 */
import { Router } from 'express';
import type { Types } from 'mongoose';
import { z } from 'zod';
import { activityInputsOf } from '@threadline/shared/src/api/records';
import { Note, type NoteDoc, type RecordKind, Task, type TaskDoc } from '../models/activity';
import { Company, Contact, Deal } from '../models/crm';
import { User, type UserDoc } from '../models/user';
import { auth } from './context';
import { badRequest, notFound } from './errors';
import { objectId } from './params';

/** The shared schemas, with ids made ObjectIds. */
const { noteCreate: noteBody, taskCreate: taskBody, taskPatch, byRecord, taskList } = activityInputsOf(objectId);
const idParam = z.object({ id: objectId('task') });

const RECORD_MODELS: Record<RecordKind, { exists(filter: object): Promise<unknown> }> = { contact: Contact, company: Company, deal: Deal };

async function requireRecord(r: { kind: RecordKind; id: Types.ObjectId }): Promise<void> {
  if (!(await RECORD_MODELS[r.kind].exists({ _id: r.id }))) throw notFound(r.kind);
}

async function assignee(email: string | undefined, authorId: Types.ObjectId): Promise<Types.ObjectId> {
  if (!email) return authorId;
  const user = await User.findOne({ email }).select({ _id: 1 }).lean<Pick<UserDoc, '_id'>>();
  if (!user) throw badRequest(`assigneeEmail: no user ${email} in your organisation`, { field: 'assigneeEmail' });
  return user._id;
}

const recordView = (r: NoteDoc['record']) => ({ kind: r.kind, id: String(r.id) });
const noteView = (n: NoteDoc) => ({
  id: String(n._id),
  record: recordView(n.record),
  authorId: String(n.authorId),
  body: n.body,
  createdAt: new Date(n.createdAt).toISOString(),
});
const taskView = (t: TaskDoc) => ({
  id: String(t._id),
  record: recordView(t.record),
  authorId: String(t.authorId),
  assigneeId: String(t.assigneeId),
  title: t.title,
  dueDate: t.dueDate ? new Date(t.dueDate).toISOString() : null,
  done: t.done,
  createdAt: new Date(t.createdAt).toISOString(),
});
const recordFilter = (q: { kind: RecordKind; id: Types.ObjectId }) => ({ 'record.kind': q.kind, 'record.id': q.id });

export function activityRoutes(): Router {
  const router = Router();

  router.post('/api/notes', async (req, res) => {
    const a = auth(req);
    const body = noteBody.parse(req.body);
    await requireRecord(body.record);
    const note = await Note.create({ record: body.record, authorId: a.userId, body: body.body });
    res.status(201).json(noteView(note.toObject() as NoteDoc));
  });

  router.get('/api/notes', async (req, res) => {
    const q = byRecord.parse(req.query);
    const notes = await Note.find(recordFilter(q)).sort({ createdAt: -1 }).limit(q.limit).lean<NoteDoc[]>();
    res.json({ notes: notes.map(noteView) });
  });

  router.post('/api/tasks', async (req, res) => {
    const a = auth(req);
    const body = taskBody.parse(req.body);
    await requireRecord(body.record);
    const task = await Task.create({
      record: body.record,
      authorId: a.userId,
      assigneeId: await assignee(body.assigneeEmail, a.userId),
      title: body.title,
      dueDate: body.dueDate ?? null,
    });
    res.status(201).json(taskView(task.toObject() as TaskDoc));
  });

  router.get('/api/tasks', async (req, res) => {
    const q = taskList.parse(req.query);
    const filter = 'assignee' in q ? { assigneeId: auth(req).userId, ...(q.done ? { done: q.done === 'true' } : {}) } : recordFilter(q);
    const tasks = await Task.find(filter)
      .sort('assignee' in q ? { done: 1, dueDate: 1 } : { createdAt: -1 })
      .limit(q.limit)
      .lean<TaskDoc[]>();
    res.json({ tasks: tasks.map(taskView) });
  });

  router.patch('/api/tasks/:id', async (req, res) => {
    const { id } = idParam.parse(req.params);
    const changes = taskPatch.parse(req.body);
    const task = await Task.findOneAndUpdate({ _id: id }, { $set: changes }, { new: true }).lean<TaskDoc>();
    if (!task) throw notFound('task');
    res.json(taskView(task));
  });

  return router;
}
