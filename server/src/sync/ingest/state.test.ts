import { applyCrmWrite, mergeProviderChange, type CopyState } from './state';

const t = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s));
const copy: CopyState = {
  state: { read: false, starred: false, archived: false, deleted: false },
  stateChangedAt: {},
  labels: ['INBOX'],
  folderId: null,
  pending: [],
};

describe('state both ways', () => {
  it('treats the echo of a CRM write as the echo, not a change', () => {
    const written = applyCrmWrite(copy, { flags: { read: true }, labelsRemoved: ['INBOX'] }, t(10));
    const out = mergeProviderChange(written, { flags: { read: true }, labelsRemoved: ['INBOX'] }, t(20));
    expect(out).toMatchObject({ changed: [], echoes: 2, ignored: 0 });
    expect(out.next.pending).toEqual([]);
    expect(out.next).toMatchObject({ state: { read: true }, labels: [] });
  });

  it('lets the later side win a conflict', () => {
    const written = applyCrmWrite(copy, { flags: { starred: true } }, t(10));
    const older = mergeProviderChange(written, { flags: { starred: false } }, t(5));
    expect(older).toMatchObject({ changed: [], ignored: 1, next: { state: { starred: true } } });
    expect(older.next.pending).toHaveLength(1);
    const newer = mergeProviderChange(written, { flags: { starred: false } }, t(15));
    expect(newer).toMatchObject({ changed: ['starred'], next: { state: { starred: false }, pending: [] } });
  });

  it('ignores a stale provider change without a pending write', () => {
    const seen = mergeProviderChange(copy, { flags: { read: true } }, t(30)).next;
    expect(mergeProviderChange(seen, { flags: { read: false } }, t(20))).toMatchObject({ changed: [], ignored: 1 });
  });
});
