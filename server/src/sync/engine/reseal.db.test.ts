import { randomBytes } from 'node:crypto';
import mongoose, { Types } from 'mongoose';
import { useTestDatabase } from '../../../../test/helpers/db';
import { createVault } from '../../auth/vault';
import { runAsSystem, runInOrg } from '../../db/tenant';
import { Mailbox, type MailboxDoc } from '../../models/mailbox';
import { resealTokens, tokensUnderOldKeys } from './reseal';

useTestDatabase();

describe('re-sealing tokens after a key rotation', () => {
  it('moves every stored token to the current key, after which the old key can be dropped', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = createVault({ currentKey: oldKey });
    const orgId = new Types.ObjectId();
    const ids = await runInOrg(orgId, async () =>
      Promise.all(
        [0, 1, 2].map(async (i) => {
          const _id = new Types.ObjectId();
          const ctx = (field: string) => ({ orgId: String(orgId), mailboxId: String(_id), field });
          await Mailbox.create({
            _id,
            userId: new Types.ObjectId(),
            provider: 'google',
            address: `u${i}@rot.test`,
            tokens: { access: before.seal(`access-${i}`, ctx('access')), refresh: before.seal(`refresh-${i}`, ctx('refresh')) },
          });
          return _id;
        }),
      ),
    );
    const rotating = createVault({ currentKey: newKey, oldKeys: [oldKey] });
    expect(await tokensUnderOldKeys(rotating)).toBe(3);
    expect(await resealTokens(rotating, 2)).toBe(4); // a batch of two mailboxes
    expect(await resealTokens(rotating)).toBe(2);
    expect(await tokensUnderOldKeys(rotating)).toBe(0);
    const after = createVault({ currentKey: newKey });
    const docs = await runAsSystem('test', () => Mailbox.find({ _id: mongoose.trusted({ $in: ids }) }).lean<MailboxDoc[]>());
    for (const d of docs) {
      const i = d.address.slice(1, 2);
      expect(after.open(d.tokens.refresh!, { orgId: String(orgId), mailboxId: String(d._id), field: 'refresh' })).toBe(`refresh-${i}`);
      expect(after.open(d.tokens.access!, { orgId: String(orgId), mailboxId: String(d._id), field: 'access' })).toBe(`access-${i}`);
    }
    expect(await resealTokens(rotating)).toBe(0);
  });
});
