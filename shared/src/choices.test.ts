import { choiceDoneWords, choiceWords, loggingChoices, sharingChoices, type MessageChoices } from './choices';

const held: MessageChoices = { notLogged: null, sharing: { level: 'full', override: null, defaultLevel: 'full' } };

describe('this email, my choice, in words', () => {
  it('a held, logged email offers both "don\'t log" choices and the two other levels', () => {
    expect(choiceWords(held)).toEqual({ logging: 'Logged to the CRM from your mailbox.', sharing: 'Shared with your team in full (your default)' });
    expect(loggingChoices(held)).toEqual([
      { label: "Don't log this email", action: 'dontLog', scope: 'message' },
      { label: "Don't log this thread", action: 'dontLog', scope: 'thread' },
    ]);
    expect(sharingChoices(held)).toEqual([
      { label: 'Make private', level: 'private' },
      { label: 'Share headers only', level: 'metadata' },
    ]);
  });

  it('an override says it is for this email only and offers the way back to the default', () => {
    const c: MessageChoices = { notLogged: null, sharing: { level: 'private', override: 'private', defaultLevel: 'full' } };
    expect(choiceWords(c).sharing).toBe('Private: only you see it (for this email only)');
    expect(sharingChoices(c).map((s) => s.level)).toEqual(['metadata', 'full', null]);
  });

  it('a choice made offers only lifting it, by its id', () => {
    const c: MessageChoices = { notLogged: { id: 'x1', scope: 'thread', createdAt: '2026-01-01T00:00:00.000Z' }, sharing: null };
    expect(choiceWords(c)).toEqual({ logging: 'You chose not to log this thread: none of its mail in your mailbox goes to the CRM.', sharing: null });
    expect(loggingChoices(c)).toEqual([{ label: 'Log this thread again', action: 'logAgain', scope: 'thread', exclusionId: 'x1' }]);
    expect(sharingChoices(c)).toEqual([]);
  });

  it("an email with no copy of the user's is not said to be logged", () => {
    expect(choiceWords({ notLogged: null, sharing: null }).logging).not.toMatch(/^Logged/);
  });

  it('says what each choice did', () => {
    expect(choiceDoneWords({ action: 'dontLog', scope: 'thread' })).toBe('This thread is no longer logged for you.');
    expect(choiceDoneWords({ action: 'logAgain', scope: 'message' })).toBe('This email is logged again: it is back in the CRM within a minute or so.');
    expect(choiceDoneWords({ action: 'setSharing', level: 'metadata' })).toBe('Your team sees this email’s headers only now.');
    expect(choiceDoneWords({ action: 'setSharing', level: null })).toBe('This email follows your default sharing again.');
  });
});
