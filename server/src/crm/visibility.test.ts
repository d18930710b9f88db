import { Types } from 'mongoose';
import { accessTo, buildPolicy } from './visibility';

const [me, full, meta, priv] = [1, 2, 3, 4].map(() => new Types.ObjectId());
const levels: Record<string, 'full' | 'metadata' | 'private'> = { [String(full)]: 'full', [String(meta)]: 'metadata', [String(priv)]: 'private' };
const levelOf = (id: string) => levels[id] ?? 'private';

describe('accessTo', () => {
  it('gives a holder everything, whatever their own level', () => {
    expect(accessTo([me, priv], me, () => 'private')).toBe('full');
  });
  it('takes the most permissive holder', () => {
    expect(accessTo([priv, meta], me, levelOf)).toBe('metadata');
    expect(accessTo([meta, full, priv], me, levelOf)).toBe('full');
    expect(accessTo([priv], me, levelOf)).toBe('none');
  });
  it('shows a message without holders to nobody', () => {
    expect(accessTo([], me, levelOf)).toBe('none');
  });
});

describe('buildPolicy', () => {
  it('uses the organisation default for users without a level, and filters lists by who shares', () => {
    const policy = buildPolicy(me, 'private', [
      { _id: full, visibility: 'full' },
      { _id: meta, visibility: null },
      { _id: me, visibility: null },
    ]);
    expect(policy.access({ syncedBy: [meta] })).toBe('none');
    expect(policy.access({ syncedBy: [full] })).toBe('full');
    const branches = (policy.visibleFilter() as { $or: Record<string, unknown>[] }).$or;
    expect(branches[0]).toEqual({ syncedBy: me });
    const sharing = branches.find((b) => 'syncedBy' in b && 'levelOverrides.private' in b && !('$or' in b))!;
    expect((sharing.syncedBy as { $in: Types.ObjectId[] }).$in.map(String)).toEqual([String(full)]);
  });
  it('treats a holder who left the organisation as private', () => {
    expect(buildPolicy(me, 'full', []).access({ syncedBy: [new Types.ObjectId()] })).toBe('none');
  });
});

describe('per-message overrides', () => {
  const users = [
    { _id: full, visibility: 'full' as const },
    { _id: meta, visibility: 'metadata' as const },
    { _id: priv, visibility: 'private' as const },
    { _id: me, visibility: null },
  ];
  const policy = buildPolicy(me, 'full', users);

  it('a holder who makes one email private hides it, and only it', () => {
    expect(policy.access({ syncedBy: [full] })).toBe('full');
    expect(policy.access({ syncedBy: [full], levelOverrides: { private: [full] } })).toBe('none');
    expect(policy.shows(full, { syncedBy: [full], levelOverrides: { private: [full] } })).toBe(false);
    // Another holder who shares it still does.
    expect(policy.access({ syncedBy: [full, meta], levelOverrides: { private: [full] } })).toBe('metadata');
  });

  it('a private holder can share one email, at the level they choose', () => {
    expect(policy.access({ syncedBy: [priv] })).toBe('none');
    expect(policy.access({ syncedBy: [priv], levelOverrides: { metadata: [priv] } })).toBe('metadata');
    expect(policy.access({ syncedBy: [priv], levelOverrides: { full: [priv] } })).toBe('full');
    expect(policy.shows(priv, { syncedBy: [priv], levelOverrides: { full: [priv] } })).toBe(true);
    expect(policy.levelIn({ syncedBy: [meta], levelOverrides: { full: [meta] } }, meta)).toBe('full');
  });

  it('ignores an override of someone who is not a holder any more, or no longer in the organisation', () => {
    const gone = new Types.ObjectId();
    expect(policy.access({ syncedBy: [gone], levelOverrides: { full: [gone] } })).toBe('none');
    // The caller's own holding is always theirs in full, whatever they chose to share.
    expect(policy.access({ syncedBy: [me], levelOverrides: { private: [me] } })).toBe('full');
    expect(policy.shows(me, { syncedBy: [me], levelOverrides: { private: [me] } })).toBe(true);
  });
});
