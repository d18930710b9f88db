import { Types } from 'mongoose';
import { reparseArgs } from './reparse-command';

describe('npm run reparse arguments', () => {
  it('reads the flags', () => {
    const org = new Types.ObjectId();
    expect(reparseArgs([])).toEqual({});
    expect(reparseArgs(['--unrecorded', '--force', '--limit', '50', '--org', String(org)])).toEqual({ unrecorded: true, force: true, limit: 50, orgId: org });
  });

  it.each([['--limt'], ['--limit'], ['--limit', '0'], ['--limit', 'x'], ['--org', 'nope']])('refuses %s with the usage', (...argv) => {
    expect(reparseArgs(argv)).toEqual({ error: expect.stringContaining('usage: npm run reparse') });
  });
});
