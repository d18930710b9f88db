/**
 * A record's notes and tasks (contact, company, deal), as the sidebars add them: listed newest first beside the
 * mail timeline, with a note form, a task form (title, due day, assignee by address) and a "done" box per task.
 */
import { api, q } from '../api';
import { failure, formatDateTime, h, loading, show, toast } from '../dom';
import type { Note, Task } from '../types';

export function activitySection(kind: 'contact' | 'company' | 'deal', id: string, signal: AbortSignal): HTMLElement {
  const notes = h('div', { 'aria-live': 'polite' });
  const tasks = h('div', { 'aria-live': 'polite' });

  const load = async () => {
    show(notes, loading('Loading notes…'));
    show(tasks, loading('Loading tasks…'));
    try {
      const [n, t] = await Promise.all([
        api<{ notes: Note[] }>('GET', `/api/notes${q({ kind, id })}`, { signal }),
        api<{ tasks: Task[] }>('GET', `/api/tasks${q({ kind, id })}`, { signal }),
      ]);
      show(
        notes,
        n.notes.length
          ? h(
              'ul',
              { class: 'rows notes' },
              n.notes.map((x) => h('li', { class: 'row' }, h('p', {}, x.body), h('span', { class: 'muted' }, formatDateTime(x.createdAt)))),
            )
          : h('p', { class: 'muted' }, 'No notes yet.'),
      );
      show(
        tasks,
        t.tasks.length
          ? h(
              'ul',
              { class: 'rows tasks' },
              t.tasks.map((x) => {
                const box = h('input', { type: 'checkbox', id: `task-${x.id}`, checked: x.done });
                box.addEventListener('change', () => {
                  api('PATCH', `/api/tasks/${x.id}`, { body: { done: box.checked } }).catch((err: unknown) => {
                    box.checked = !box.checked;
                    toast(String((err as Error).message), 'error');
                  });
                });
                return h(
                  'li',
                  { class: 'row' },
                  box,
                  h('label', { for: `task-${x.id}` }, ` ${x.title}`),
                  x.dueDate ? h('span', { class: 'muted' }, ` · due ${formatDateTime(x.dueDate)}`) : null,
                );
              }),
            )
          : h('p', { class: 'muted' }, 'No tasks yet.'),
      );
    } catch (err) {
      if (!signal.aborted)
        show(
          notes,
          failure(err, () => void load()),
        );
    }
  };

  const noteInput = h('textarea', { id: `note-${id}`, rows: 2, maxlength: 10000 });
  const noteForm = h(
    'form',
    {
      class: 'inline-form',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const body = noteInput.value.trim();
        if (!body) return toast('Write the note first.', 'error');
        api('POST', '/api/notes', { body: { record: { kind, id }, body } }).then(
          () => {
            noteInput.value = '';
            void load();
          },
          (err: unknown) => toast(String((err as Error).message), 'error'),
        );
      },
    },
    h('label', { for: `note-${id}` }, 'Add a note'),
    noteInput,
    h('button', { type: 'submit', class: 'button' }, 'Add note'),
  );

  const title = h('input', { id: `task-title-${id}`, type: 'text', maxlength: 500 });
  const due = h('input', { id: `task-due-${id}`, type: 'date' });
  const assignee = h('input', { id: `task-assignee-${id}`, type: 'email', placeholder: 'You' });
  const taskForm = h(
    'form',
    {
      class: 'inline-form',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        if (!title.value.trim()) return toast('Say what the task is first.', 'error');
        const body = {
          record: { kind, id },
          title: title.value.trim(),
          ...(due.value ? { dueDate: due.value } : {}),
          ...(assignee.value.trim() ? { assigneeEmail: assignee.value.trim() } : {}),
        };
        api('POST', '/api/tasks', { body }).then(
          () => {
            title.value = '';
            due.value = '';
            assignee.value = '';
            void load();
          },
          (err: unknown) => toast(String((err as Error).message), 'error'),
        );
      },
    },
    h('label', { for: `task-title-${id}` }, 'Add a task'),
    title,
    h('label', { for: `task-due-${id}` }, 'Due'),
    due,
    h('label', { for: `task-assignee-${id}` }, 'Assignee'),
    assignee,
    h('button', { type: 'submit', class: 'button' }, 'Add task'),
  );

  void load();
  return h('section', { class: 'section activity' }, h('h2', {}, 'Notes'), notes, noteForm, h('h2', {}, 'Tasks'), tasks, taskForm);
}
