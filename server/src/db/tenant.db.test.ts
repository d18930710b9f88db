import { Types } from 'mongoose';
import { useTestDatabase } from '../../../test/helpers/db';
import { Contact, Message } from '../models';
import { runAsSystem, runInOrg, TenantScopeError } from './tenant';

useTestDatabase();

const orgA = new Types.ObjectId();
const orgB = new Types.ObjectId();

describe('tenant scope on a real database', () => {
  beforeAll(async () => {
    await runInOrg(orgA, () => Contact.create({ emails: ['ann@acme.com'], name: 'Ann' }));
    await runInOrg(orgB, () => Contact.create({ emails: ['bob@beta.io'], name: 'Bob' }));
  });

  it('fails closed without an organisation context', async () => {
    await expect(Contact.find({})).rejects.toThrow(TenantScopeError);
    await expect(Contact.countDocuments({})).rejects.toThrow(TenantScopeError);
    await expect(Contact.aggregate([{ $match: {} }])).rejects.toThrow(TenantScopeError);
    await expect(Contact.create({ emails: ['x@y.com'] })).rejects.toThrow(TenantScopeError);
    await expect(Contact.updateMany({}, { $set: { name: 'Z' } })).rejects.toThrow(TenantScopeError);
  });

  it("sees only its own organisation's documents, even when asking for another's", async () => {
    const seen = await runInOrg(orgA, () => Contact.find({}).lean());
    expect(seen.map((c) => c.name)).toEqual(['Ann']);
    const bob = await runAsSystem('test lookup', () => Contact.findOne({ name: 'Bob' }).lean());
    expect(bob).not.toBeNull();
    expect(await runInOrg(orgA, () => Contact.findById(bob!._id).lean())).toBeNull();
    expect(await runInOrg(orgA, () => Contact.findOne({ orgId: orgB }).lean())).toBeNull();
    const agg = await runInOrg(orgA, () => Contact.aggregate([{ $group: { _id: null, n: { $sum: 1 } } }]));
    expect(agg[0].n).toBe(1);
  });

  it('cannot update or delete across organisations', async () => {
    const bob = await runAsSystem('test lookup', () => Contact.findOne({ name: 'Bob' }).lean());
    const res = await runInOrg(orgA, () => Contact.updateOne({ _id: bob!._id }, { $set: { name: 'Hacked' } }));
    expect(res.matchedCount).toBe(0);
    const del = await runInOrg(orgA, () => Contact.deleteMany({ _id: bob!._id }));
    expect(del.deletedCount).toBe(0);
    expect((await runAsSystem('check', () => Contact.findById(bob!._id).lean()))!.name).toBe('Bob');
  });

  it('refuses to save a document into another organisation', async () => {
    await expect(runInOrg(orgA, () => Contact.create({ orgId: orgB, emails: ['eve@x.com'] }))).rejects.toThrow(TenantScopeError);
  });

  it('enforces unique indexes per organisation, not across them', async () => {
    await expect(runInOrg(orgA, () => Contact.create({ emails: ['ann@acme.com'] }))).rejects.toMatchObject({ code: 11000 });
    await expect(runInOrg(orgB, () => Contact.create({ emails: ['ann@acme.com'], name: 'Other Ann' }))).resolves.toBeTruthy();
  });

  it('wraps operators smuggled in through input (sanitizeFilter)', async () => {
    const input = { $ne: 'nobody@x.com' } as unknown as string;
    await expect(runInOrg(orgA, () => Contact.find({ emails: input }).lean())).rejects.toThrow(/Cast to string failed/);
  });

  it('upserts idempotently on (orgId, dedupKey)', async () => {
    const upsert = () =>
      runInOrg(orgA, () =>
        Message.updateOne({ dedupKey: 'mid:abc@x' }, { $setOnInsert: { date: new Date(), direction: 'inbound', subject: 'hi' } }, { upsert: true }),
      );
    await upsert();
    await upsert();
    expect(await runInOrg(orgA, () => Message.countDocuments({ dedupKey: 'mid:abc@x' }))).toBe(1);
    expect(await runInOrg(orgB, () => Message.countDocuments({ dedupKey: 'mid:abc@x' }))).toBe(0);
  });
});
