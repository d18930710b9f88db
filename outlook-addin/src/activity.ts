/**
 * "Add note" and "Add task" under a contact, a company or a deal in the pane: two small forms behind disclosure triangles, so
 * the view stays a glance until one is opened. The server stores them on the record (`POST /api/notes`, `/api/tasks`).
 */
import { h } from './dom';

export interface RecordRef {
  kind: 'contact' | 'company' | 'deal';
  id: string;
  name: string;
}
export interface TaskInput {
  title: string;
  dueDate: string;
  assigneeEmail: string;
}

export interface ActivityActions {
  addNote(record: RecordRef, body: string): Promise<void>;
  addTask(record: RecordRef, task: TaskInput): Promise<void>;
}

let formCount = 0;

/** A form that saves on submit, then empties itself and says so; an error stays beside the button. */
function form(label: string, fields: HTMLElement[], save: () => Promise<void>, reset: () => void): HTMLElement {
  const status = h('span', { class: 'action-status', role: 'status' });
  const button = h('button', { type: 'submit', class: 'button primary' }, 'Save');
  const el = h('form', { class: 'activity-form' }, ...fields, h('span', { class: 'action' }, button, status));
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    button.disabled = true;
    status.classList.remove('error-text');
    status.textContent = 'Saving…';
    save()
      .then(
        () => {
          reset();
          status.textContent = 'Saved.';
        },
        (err: unknown) => {
          status.textContent = err instanceof Error ? err.message : 'That did not work. Try again.';
          status.classList.add('error-text');
        },
      )
      .finally(() => {
        button.disabled = false;
      });
  });
  return h('details', { class: 'edit activity' }, h('summary', {}, label), el);
}

/** A company's forms say so ("Add company note"): they stand under a person whose own say "Add note". */
export function activityForms(record: RecordRef, actions: ActivityActions): HTMLElement {
  const n = ++formCount;
  const what = record.kind === 'company' ? 'company ' : '';
  const id = (what: string) => `act-${what}-${n}`;
  const note = h('textarea', { id: id('note'), class: 'input', rows: 3, maxlength: 10000 });
  const title = h('input', { id: id('title'), class: 'input', type: 'text', maxlength: 500, autocomplete: 'off' });
  const due = h('input', { id: id('due'), class: 'input', type: 'date' });
  const assignee = h('input', { id: id('assignee'), class: 'input', type: 'email', placeholder: 'You', autocomplete: 'off' });
  const labelled = (el: HTMLElement, text: string) => [h('label', { for: el.id, class: 'label' }, text), el];
  return h(
    'div',
    { class: 'activities', 'data-record': `${record.kind}:${record.id}` },
    form(
      `Add ${what}note`,
      labelled(note, `Note on ${record.name}`),
      async () => {
        const body = note.value.trim();
        if (!body) throw new Error('Write the note first.');
        await actions.addNote(record, body);
      },
      () => {
        note.value = '';
      },
    ),
    form(
      `Add ${what}task`,
      [...labelled(title, 'Task'), ...labelled(due, 'Due'), ...labelled(assignee, 'Assignee (email)')],
      async () => {
        const t = title.value.trim();
        if (!t) throw new Error('Say what the task is first.');
        await actions.addTask(record, { title: t, dueDate: due.value, assigneeEmail: assignee.value.trim() });
      },
      () => {
        title.value = '';
        due.value = '';
        assignee.value = '';
      },
    ),
  );
}
