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
    const policy = buildPolicy(me, 'private', [{ _id: full, visibility: 'full' }, { _id: meta, visibility: null }, { _id: me, visibility: null }]);
    expect(policy.access({ syncedBy: [meta] })).toBe('none');
    expect(policy.access({ syncedBy: [full] })).toBe('full');
    const inList = (policy.visibleFilter().syncedBy as { $in: Types.ObjectId[] }).$in.map(String).sort();
    expect(inList).toEqual([String(me), String(full)].sort());
  });
  it('treats a holder who left the organisation as private', () => {
    expect(buildPolicy(me, 'full', []).access({ syncedBy: [new Types.ObjectId()] })).toBe('none');
  });
});
