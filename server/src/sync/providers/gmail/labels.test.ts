import { flagsFromLabelChange, flagsFromLabels, labelEditForChange } from './labels';

describe('flagsFromLabels', () => {
  it('maps UNREAD, STARRED, INBOX and TRASH', () => {
    expect(flagsFromLabels(['INBOX', 'UNREAD'])).toEqual({ read: false, starred: false, archived: false, deleted: false });
    expect(flagsFromLabels(['STARRED', 'CATEGORY_UPDATES'])).toEqual({ read: true, starred: true, archived: true, deleted: false });
    expect(flagsFromLabels(['TRASH'])).toEqual({ read: true, starred: false, archived: true, deleted: true });
  });

  it('does not call sent mail archived just because it is not in the inbox', () => {
    expect(flagsFromLabels(['SENT']).archived).toBe(false);
  });
});

describe('flagsFromLabelChange', () => {
  it.each([
    [['UNREAD'], [], { read: false }],
    [[], ['UNREAD'], { read: true }],
    [['STARRED'], [], { starred: true }],
    [[], ['STARRED'], { starred: false }],
    [[], ['INBOX'], { archived: true }],
    [['INBOX'], [], { archived: false }],
    [['TRASH'], [], { deleted: true }],
    [[], ['TRASH'], { deleted: false }],
    [['Label_7'], ['IMPORTANT'], {}],
  ])('added %j removed %j → %j', (added, removed, flags) => {
    expect(flagsFromLabelChange(added, removed)).toEqual(flags);
  });
});

describe('labelEditForChange', () => {
  it('turns flags into label edits', () => {
    expect(labelEditForChange({ flags: { read: true, starred: true, archived: true } })).toEqual({
      addLabelIds: ['STARRED'],
      removeLabelIds: ['UNREAD', 'INBOX'],
    });
    expect(labelEditForChange({ flags: { read: false, starred: false, archived: false } })).toEqual({
      addLabelIds: ['UNREAD', 'INBOX'],
      removeLabelIds: ['STARRED'],
    });
  });

  it('keeps explicit labels, and a flag wins over a contradicting explicit label', () => {
    expect(labelEditForChange({ flags: { read: true }, labelsAdded: ['Label_1', 'UNREAD'], labelsRemoved: ['Label_2'] })).toEqual({
      addLabelIds: ['Label_1'],
      removeLabelIds: ['Label_2', 'UNREAD'],
    });
  });

  it('is empty when nothing changes', () => {
    expect(labelEditForChange({})).toEqual({ addLabelIds: [], removeLabelIds: [] });
  });
});
