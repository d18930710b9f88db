import type { gmail_v1 } from '@googleapis/gmail';
import { planHistory } from './history';

const msg = (id: string, labelIds: string[]): gmail_v1.Schema$Message => ({ id, threadId: id, labelIds });
let nextId = 1000;
const rec = (fields: Omit<gmail_v1.Schema$History, 'id'>): gmail_v1.Schema$History => ({ id: String(nextId++), ...fields });
const added = (id: string, labels = ['INBOX', 'UNREAD']) => rec({ messagesAdded: [{ message: msg(id, labels) }] });
const deleted = (id: string) => rec({ messagesDeleted: [{ message: msg(id, []) }] });
const labelAdd = (id: string, labelIds: string[], after: string[]) => rec({ labelsAdded: [{ message: msg(id, after), labelIds }] });
const labelRemove = (id: string, labelIds: string[], after: string[]) => rec({ labelsRemoved: [{ message: msg(id, after), labelIds }] });

describe('planHistory', () => {
  it('maps new mail, read, star, archive, trash and permanent delete', () => {
    const plan = planHistory([
      added('new1'),
      labelRemove('a', ['UNREAD'], ['INBOX']),
      labelAdd('b', ['STARRED'], ['INBOX', 'STARRED']),
      labelRemove('c', ['INBOX'], []),
      labelAdd('d', ['TRASH'], ['TRASH']),
      deleted('e'),
    ]);
    expect(plan.fetch).toEqual(['new1']);
    expect(plan.deletes).toEqual(['e']);
    expect(plan.stateChanges).toEqual([
      { providerMessageId: 'a', flags: { read: true }, labelsRemoved: ['UNREAD'] },
      { providerMessageId: 'b', flags: { starred: true }, labelsAdded: ['STARRED'] },
      { providerMessageId: 'c', flags: { archived: true }, labelsRemoved: ['INBOX'] },
      { providerMessageId: 'd', flags: { deleted: true }, labelsAdded: ['TRASH'] },
    ]);
  });

  it('folds several records of one message into its net outcome', () => {
    const plan = planHistory([
      labelRemove('a', ['UNREAD'], ['INBOX']),
      labelAdd('a', ['STARRED'], ['INBOX', 'STARRED']),
      labelAdd('a', ['UNREAD'], ['INBOX', 'STARRED', 'UNREAD']),
    ]);
    expect(plan.stateChanges).toEqual([{ providerMessageId: 'a', flags: { read: false, starred: true }, labelsAdded: ['STARRED', 'UNREAD'] }]);
  });

  it('fetches a message added and changed in the same page once, with no separate state change', () => {
    const plan = planHistory([added('n'), labelRemove('n', ['UNREAD'], ['INBOX'])]);
    expect(plan).toEqual({ fetch: ['n'], deletes: [], stateChanges: [] });
  });

  it('drops everything about a message deleted later in the page, and nothing revives it', () => {
    const plan = planHistory([added('n'), labelAdd('x', ['STARRED'], ['STARRED']), deleted('n'), deleted('x'), labelAdd('x', ['INBOX'], ['INBOX'])]);
    expect(plan).toEqual({ fetch: [], deletes: ['n', 'x'], stateChanges: [] });
  });

  it('skips drafts and spam; spam out is a delete, back from spam or a sent draft is an upsert', () => {
    const plan = planHistory([
      added('draft', ['DRAFT']),
      labelAdd('draft', ['Label_1'], ['DRAFT', 'Label_1']),
      added('spam', ['SPAM']),
      labelAdd('m', ['SPAM'], ['SPAM']),
      labelRemove('back', ['SPAM'], ['INBOX']),
      labelRemove('draft', ['DRAFT'], ['SENT']),
    ]);
    expect(plan.fetch).toEqual(['draft', 'back']);
    expect(plan.deletes).toEqual(['m']);
    expect(plan.stateChanges).toEqual([]);
  });

  it('reports user labels as label changes without flags', () => {
    const plan = planHistory([labelAdd('a', ['Label_3'], ['INBOX', 'Label_3'])]);
    expect(plan.stateChanges).toEqual([{ providerMessageId: 'a', labelsAdded: ['Label_3'] }]);
  });
});
