/**
 * The records kept per process for the sidebars: read once while nothing changed, read again after any write of a
 * contact, company or deal through mongoose in this process, and after another process's write once the
 * organisation's recordsVersion says so; never shared across organisations, and frozen.
 */
import { Types } from 'mongoose';
import { recordQueries } from '../../../test/helpers/query-log';
import { useTestDatabase } from '../../../test/helpers/db';
import { runInOrg } from '../db/tenant';
import { Company, type CompanyDoc, Contact, type ContactDoc, Deal } from '../models/crm';
import { Org } from '../models/org';
import { forgetOrgSnapshots } from './org-snapshot';
import { forgetRecords, recordsByIds } from './record-cache';

useTestDatabase();

const orgId = new Types.ObjectId();
const otherOrgId = new Types.ObjectId();
let ada: Types.ObjectId;
let acme: Types.ObjectId;

beforeAll(async () => {
  await Org.create({ _id: orgId, key: 'records.test', name: 'Records', domains: ['records.test'] });
  await Org.create({ _id: otherOrgId, key: 'other-records.test', name: 'Other', domains: ['other-records.test'] });
  await runInOrg(orgId, async () => {
    acme = (await Company.create({ name: 'Acme', domains: ['acme.example'] }))._id;
    ada = (await Contact.create({ emails: ['ada@acme.example'], name: 'Ada', companyId: acme }))._id;
  });
});
beforeEach(() => {
  forgetRecords();
  forgetOrgSnapshots();
});

const inOrg = <T>(fn: () => Promise<T>) => runInOrg(orgId, fn);
const contact = async (id: Types.ObjectId = ada) => (await inOrg(() => recordsByIds<ContactDoc>(Contact, [id])))[0];
/** The reads of records (the organisation's snapshot reads its own). */
const readsOf = async (fn: () => Promise<unknown>) =>
  (await recordQueries(fn)).map((r) => r.collection).filter((c) => ['contacts', 'companies', 'deals'].includes(c));
/** A little more than store/org-snapshot.ts ORG_REUSE_MS. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 120));

describe('the record cache', () => {
  it('reads a record once while nothing changes, and hands out a frozen copy', async () => {
    expect(await readsOf(() => contact())).toEqual(['contacts']);
    expect(await readsOf(() => contact())).toEqual([]);
    const held = await contact();
    expect(held.name).toBe('Ada');
    expect(() => {
      (held as { name: string }).name = 'Eve';
    }).toThrow();
    expect(() => (held.emails as string[]).push('eve@acme.example')).toThrow();
    // Only what is missing is read: the company, not the contact again.
    const reads = await readsOf(() => inOrg(() => Promise.all([recordsByIds(Contact, [ada]), recordsByIds<CompanyDoc>(Company, [acme])])));
    expect(reads).toEqual(['companies']);
  });

  it('reads again after each kind of write of a record in this process', async () => {
    const writes: [string, () => Promise<unknown>][] = [
      ['updateOne', () => Contact.updateOne({ _id: ada }, { $set: { name: 'Ada L' } })],
      ['findOneAndUpdate', () => Contact.findOneAndUpdate({ _id: ada }, { $set: { title: 'CTO' } })],
      ['save', async () => (await Contact.findById(ada))!.set({ phone: '+1 555' }).save()],
      ['company updateMany', () => Company.updateMany({}, { $set: { name: 'Acme Inc' } })],
      ['deal create', () => Deal.create({ name: 'Big one', contactIds: [ada] })],
    ];
    for (const [name, write] of writes) {
      await contact();
      expect([name, await readsOf(() => contact())]).toEqual([name, []]);
      await inOrg(write);
      expect([name, await readsOf(() => contact())]).toEqual([name, ['contacts']]);
    }
    expect(await contact()).toMatchObject({ name: 'Ada L', title: 'CTO', phone: '+1 555' });
    expect((await Org.findById(orgId).lean())?.recordsVersion).toBeGreaterThanOrEqual(writes.length + 2);
  });

  it("sees another process's write once the organisation's version moved, and only then", async () => {
    expect((await contact()).name).toBe('Ada L');
    // Behind mongoose's back (another process writing: this one's hooks do not run).
    await Contact.collection.updateOne({ _id: ada }, { $set: { name: 'Ada Lovelace' } });
    await pause();
    expect((await contact()).name).toBe('Ada L');
    await Org.collection.updateOne({ _id: orgId }, { $inc: { recordsVersion: 1 } });
    await pause();
    expect((await contact()).name).toBe('Ada Lovelace');
  });

  it('keeps each organisation to its own records', async () => {
    await contact();
    expect(await runInOrg(otherOrgId, () => recordsByIds<ContactDoc>(Contact, [ada]))).toEqual([]);
  });
});
