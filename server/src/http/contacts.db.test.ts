import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { unindexedQueries } from '../../../test/helpers/index-check';
import { recordQueries } from '../../../test/helpers/query-log';
import { markDirectoryChanged } from '../crm/directory';
import { runInOrg } from '../db/tenant';
import { Company, Contact } from '../models/crm';
import { Message } from '../models/message';
import { bearer, neighbours, seedMessage, useSignedInService, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

const service = useSignedInService({ ada: ['ada@acme.test', 'acme.test'], eve: ['eve@other.test', 'other.test'] });
let ada: SignedIn;
let eve: SignedIn;
beforeAll(() => ({ ada, eve } = service.users));
const api = service.api;

describe('POST /api/contacts', () => {
  it('creates a contact with its company from the registrable domain, and refuses the same address again (409)', async () => {
    const res = await api(ada).post('/api/contacts', { email: 'Jane.Doe@EU.Acme-Robotics.co.uk', name: 'Jane Doe', title: 'CTO' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      email: 'jane.doe@eu.acme-robotics.co.uk',
      emails: ['jane.doe@eu.acme-robotics.co.uk'],
      name: 'Jane Doe',
      title: 'CTO',
      source: 'manual',
    });
    const company = await api(ada).get(`/api/companies/${res.body.companyId}`);
    expect(company.body).toEqual({ id: res.body.companyId, name: 'Acme Robotics', domains: ['acme-robotics.co.uk'] });

    const colleague = await api(ada).post('/api/contacts', { email: 'max@acme-robotics.co.uk' });
    expect(colleague.body.companyId).toBe(res.body.companyId);

    const dup = await api(ada).post('/api/contacts', { email: 'jane.doe@eu.acme-robotics.co.uk ' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.details.existingId).toBe(res.body.id);
  });

  it('never makes a company from a free-mail domain; a companyName makes one by name only', async () => {
    const plain = await api(ada).post('/api/contacts', { email: 'someone@gmail.com' });
    expect(plain.status).toBe(201);
    expect(plain.body.companyId).toBeNull();
    const named = await api(ada).post('/api/contacts', { email: 'founder@gmail.com', companyName: 'Tiny Startup' });
    const company = await api(ada).get(`/api/companies/${named.body.companyId}`);
    expect(company.body).toMatchObject({ name: 'Tiny Startup', domains: [] });
    // The same name again finds that company rather than making a second one.
    const partner = await api(ada).post('/api/contacts', { email: 'cofounder@yahoo.fr', companyName: 'Tiny Startup' });
    expect(partner.body.companyId).toBe(named.body.companyId);
    expect(await runInOrg(ada.orgId, () => Company.countDocuments({ domains: 'gmail.com' }))).toBe(0);
  });

  it('links the new contact at once to mail already synced with its address (and the company too)', async () => {
    const past = await seedMessage({ holders: [{ who: ada }], from: 'zoe@globex.com', subject: 'Intro' });
    const other = await seedMessage({ holders: [{ who: ada }], from: 'zed@globex.com', subject: 'Colleague' });
    const res = await api(ada).post('/api/contacts', { email: 'zoe@globex.com' });
    let mail!: Awaited<ReturnType<ReturnType<typeof api>['get']>>;
    let companyMail!: typeof mail;
    // The timelines' queries are each served by an index on MongoDB (test/helpers/index-check.ts): none scans.
    const queries = await recordQueries(async () => {
      mail = await api(ada).get(`/api/contacts/${res.body.id}/messages`);
      companyMail = await api(ada).get(`/api/companies/${res.body.companyId}/messages`);
    });
    expect(queries.length).toBeGreaterThan(2);
    expect(unindexedQueries(queries)).toEqual([]);
    expect(mail.status).toBe(200);
    expect(mail.body.messages.map((m: { id: string }) => m.id)).toEqual([String(past._id)]);
    expect(mail.body.nextCursor).toBeNull();
    expect(companyMail.body.messages.map((m: { id: string }) => m.id).sort()).toEqual([String(past._id), String(other._id)].sort());
  });

  it("shows a company's mail with its contacts on free-mail addresses too", async () => {
    const companyId = await runInOrg(ada.orgId, async () => {
      const company = await Company.create({ name: 'Corner Bakery', domains: ['corner-bakery.com'] });
      await Contact.create({ emails: ['baker@gmail.com'], name: 'Baker', companyId: company._id });
      await markDirectoryChanged();
      return String(company._id);
    });
    const theirs = await seedMessage({ holders: [{ who: ada }], from: 'baker@gmail.com', subject: 'Bread order' });
    const atDomain = await seedMessage({ holders: [{ who: ada }], from: 'till@corner-bakery.com', subject: 'Invoice' });
    await seedMessage({ holders: [{ who: ada }], from: 'stranger@gmail.com', subject: 'Not them' });
    const companyMail = await api(ada).get(`/api/companies/${companyId}/messages`);
    expect(companyMail.status).toBe(200);
    expect(companyMail.body.messages.map((m: { id: string }) => m.id).sort()).toEqual([String(theirs._id), String(atDomain._id)].sort());
  });

  it.each([
    ['an operator instead of an address', { email: { $gt: '' } }],
    ['an invalid address', { email: 'not-an-address' }],
    ['an unknown field', { email: 'a@b.com', admin: true }],
    ['a missing email', { name: 'x' }],
  ])('refuses %s (400)', async (_name, body) => {
    const res = await api(ada).post('/api/contacts', body);
    expect(res.status).toBe(400);
  });

  it('refuses __proto__ in the body', async () => {
    const res = await request(service.app())
      .post('/api/contacts')
      .set(bearer(ada))
      .set('content-type', 'application/json')
      .send('{"email":"proto@x.com","__proto__":{"admin":true}}');
    expect(res.status).toBe(400);
  });
});

describe('GET /api/contacts?q=', () => {
  it('finds by name, address and domain, and treats the query as text', async () => {
    await api(ada).post('/api/contacts', { email: 'lena@initech.com', name: 'Lena Park' });
    const byDomain = await api(ada).get('/api/contacts?q=initech.com');
    expect(byDomain.body.contacts.map((c: { email: string }) => c.email)).toEqual(['lena@initech.com']);
    expect((await api(ada).get('/api/contacts?q=lena%20p')).body.contacts).toHaveLength(1);
    expect((await api(ada).get('/api/contacts?q=.*')).body.contacts).toHaveLength(0);
    expect((await api(ada).get('/api/contacts?q=(')).status).toBe(200);
    expect((await api(ada).get('/api/contacts?q[$ne]=x')).status).toBe(400);
    expect((await api(ada).get('/api/contacts?q=a&q=b')).status).toBe(400);
    expect((await api(eve).get('/api/contacts?q=initech')).body.contacts).toHaveLength(0);
  });
});

describe('PATCH and DELETE /api/contacts/:id', () => {
  it('relinks past mail when the addresses change, refuses a taken address, and unlinks on delete', async () => {
    const first = await seedMessage({ holders: [{ who: ada }], from: 'sam@hooli.com' });
    const second = await seedMessage({ holders: [{ who: ada }], from: 'sam.private@hooli.com' });
    const c = (await api(ada).post('/api/contacts', { email: 'sam@hooli.com', name: 'Sam' })).body;
    const ids = async () => (await api(ada).get(`/api/contacts/${c.id}/messages`)).body.messages.map((m: { id: string }) => m.id).sort();
    expect(await ids()).toEqual([String(first._id)]);

    const moved = await api(ada).patch(`/api/contacts/${c.id}`, { emails: ['SAM.private@hooli.com'], name: 'Sam H.' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ emails: ['sam.private@hooli.com'], name: 'Sam H.' });
    expect(await ids()).toEqual([String(second._id)]);

    const other = (await api(ada).post('/api/contacts', { email: 'kim@hooli.com' })).body;
    const taken = await api(ada).patch(`/api/contacts/${c.id}`, { emails: ['sam.private@hooli.com', 'kim@hooli.com'] });
    expect(taken.status).toBe(409);
    expect(taken.body.error.details.existingId).toBe(other.id);
    expect((await api(ada).patch(`/api/contacts/${c.id}`, {})).status).toBe(400);
    expect((await api(ada).patch(`/api/contacts/${c.id}`, { emails: { $gt: '' } })).status).toBe(400);

    expect((await api(ada).del(`/api/contacts/${c.id}`)).status).toBe(204);
    expect((await api(ada).get(`/api/contacts/${c.id}`)).status).toBe(404);
    const linked = await runInOrg(ada.orgId, () => Message.countDocuments({ contactIds: c.id }));
    expect(linked).toBe(0);
  });
});

describe('other organisations', () => {
  it('answers 404 for contacts and companies of another organisation, and for guessed neighbouring ids', async () => {
    const c = (await api(ada).post('/api/contacts', { email: 'ivy@umbrella.com' })).body;
    const paths = [`/api/contacts/${c.id}`, `/api/contacts/${c.id}/messages`, `/api/companies/${c.companyId}`, `/api/companies/${c.companyId}/messages`];
    for (const p of paths) expect((await api(ada).get(p)).status).toBe(200);
    for (const p of paths) expect({ p, status: (await api(eve).get(p)).status }).toEqual({ p, status: 404 });
    expect((await api(eve).patch(`/api/contacts/${c.id}`, { name: 'pwned' })).status).toBe(404);
    expect((await api(eve).del(`/api/contacts/${c.id}`)).status).toBe(404);
    expect((await api(ada).get(`/api/contacts/${c.id}`)).body.name).toBe('');
    for (const id of [...neighbours(c.id), ...neighbours(c.companyId)]) {
      expect((await api(ada).get(`/api/contacts/${id}`)).status).toBe(404);
      expect((await api(ada).get(`/api/companies/${id}`)).status).toBe(404);
    }
  });
});
