import { useTestDatabase } from '../../../test/helpers/db';
import { runInOrg } from '../db/tenant';
import { Message } from '../models/message';
import { neighbours, seedMessage, useSignedInService, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

const service = useSignedInService({ ada: ['ada@acme.test', 'acme.test'], eve: ['eve@other.test', 'other.test'] });
let ada: SignedIn;
let eve: SignedIn;
beforeAll(() => ({ ada, eve } = service.users));
const api = service.api;

describe('deals', () => {
  it('links the mail of its contacts at once, and unlinks it when they leave the deal', async () => {
    const contact = await api(ada).post('/api/contacts', { email: 'buyer@initech.com', name: 'Bill Buyer' });
    const mail = await seedMessage({ holders: [{ who: ada }], from: 'buyer@initech.com', subject: 'PO for 40 robots', contactIds: [contact.body.id] });
    await seedMessage({ holders: [{ who: ada }], from: 'someone@elsewhere.com', subject: 'Unrelated' });

    const created = await api(ada).post('/api/deals', {
      name: 'Initech robots',
      amount: 120000,
      currency: 'EUR',
      contactIds: [contact.body.id],
      closeDate: '2027-03-31T00:00:00Z',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Initech robots',
      status: 'open',
      stage: 'open',
      amount: 120000,
      currency: 'EUR',
      contactIds: [contact.body.id],
      ownerId: String(ada.userId),
    });

    const page = await api(ada).get(`/api/deals/${created.body.id}/messages`);
    expect(page.body.messages.map((m: { subject: string }) => m.subject)).toEqual(['PO for 40 robots']);
    expect((await runInOrg(ada.orgId, () => Message.findById(mail._id).lean<{ dealIds: unknown[] }>()))!.dealIds.map(String)).toEqual([created.body.id]);

    const listed = await api(ada).get(`/api/deals?contactId=${contact.body.id}`);
    expect(listed.body.deals.map((d: { id: string }) => d.id)).toEqual([created.body.id]);

    const won = await api(ada).patch(`/api/deals/${created.body.id}`, { status: 'won', contactIds: [] });
    expect(won.body).toMatchObject({ status: 'won', contactIds: [] });
    expect((await api(ada).get(`/api/deals/${created.body.id}/messages`)).body.messages).toEqual([]);
  });

  it('refuses contacts or companies that are not the organisation’s own, and bad fields, naming them', async () => {
    const foreign = await api(eve).post('/api/contacts', { email: 'x@foreign-corp.com' });
    const res = await api(ada).post('/api/deals', { name: 'Sneaky', contactIds: [foreign.body.id] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^contactIds/);
    expect((await api(ada).post('/api/deals', { name: 'x', currency: 'euro' })).body.error.message).toMatch(/^currency/);
    expect((await api(ada).post('/api/deals', { amount: 5 })).body.error.message).toMatch(/^name/);
    expect((await api(ada).post('/api/deals', { name: { $gt: '' } })).status).toBe(400);
    expect((await api(ada).patch(`/api/deals/${foreign.body.id}`, {})).status).toBe(400);
  });

  it('answers 404 for another organisation’s deal and its neighbouring ids', async () => {
    const theirs = await api(eve).post('/api/deals', { name: 'Eve’s deal' });
    for (const id of [theirs.body.id, ...neighbours(theirs.body.id)]) {
      expect((await api(ada).get(`/api/deals/${id}`)).status).toBe(404);
      expect((await api(ada).patch(`/api/deals/${id}`, { name: 'mine now' })).status).toBe(404);
      expect((await api(ada).get(`/api/deals/${id}/messages`)).status).toBe(404);
    }
    expect((await api(eve).get(`/api/deals/${theirs.body.id}`)).body.name).toBe('Eve’s deal');
  });
});
