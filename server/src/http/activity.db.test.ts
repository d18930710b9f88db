import { Types } from 'mongoose';
import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import { bearer, signIn, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let ada: SignedIn;
let bob: SignedIn;
let eve: SignedIn; // another organisation
let contactId: string;

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  ada = await signIn(svc.app, idp, 'ada@acme.test', 'acme.test');
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
  eve = await signIn(svc.app, idp, 'eve@other.test', 'other.test');
  contactId = (await request(svc.app).post('/api/contacts').set(bearer(ada)).send({ email: 'pat@initech.com', name: 'Pat' })).body.id;
});
afterAll(() => idp.close());

const post = (who: SignedIn, path: string, body: unknown) =>
  request(svc.app)
    .post(path)
    .set(bearer(who))
    .send(body as object);
const get = (who: SignedIn, path: string) => request(svc.app).get(path).set(bearer(who));

describe('notes', () => {
  it('adds notes to a record and lists them newest first, for everyone in the organisation only', async () => {
    const first = await post(ada, '/api/notes', { record: { kind: 'contact', id: contactId }, body: 'Met at the fair.' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ record: { kind: 'contact', id: contactId }, authorId: String(ada.userId), body: 'Met at the fair.' });
    await post(bob, '/api/notes', { record: { kind: 'contact', id: contactId }, body: 'Wants a pilot in April.' });
    const list = await get(ada, `/api/notes?kind=contact&id=${contactId}`);
    expect(list.body.notes.map((n: { body: string }) => n.body)).toEqual(['Wants a pilot in April.', 'Met at the fair.']);
    expect((await get(eve, `/api/notes?kind=contact&id=${contactId}`)).body.notes).toEqual([]);
    expect((await post(eve, '/api/notes', { record: { kind: 'contact', id: contactId }, body: 'x' })).status).toBe(404);
  });

  it('refuses an empty note, an unknown record and an unknown kind, naming the field', async () => {
    expect((await post(ada, '/api/notes', { record: { kind: 'contact', id: contactId }, body: '  ' })).body.error.details.issues).toEqual([
      expect.objectContaining({ field: 'body' }),
    ]);
    expect((await post(ada, '/api/notes', { record: { kind: 'deal', id: String(new Types.ObjectId()) }, body: 'x' })).status).toBe(404);
    expect((await post(ada, '/api/notes', { record: { kind: 'ticket', id: contactId }, body: 'x' })).status).toBe(400);
  });
});

describe('tasks', () => {
  it('adds a task with a due day and an assignee by address; lists them per record and per assignee; marks them done', async () => {
    const deal = (await post(ada, '/api/deals', { name: 'Initech pilot', contactIds: [contactId] })).body as { id: string };
    const t = await post(ada, '/api/tasks', {
      record: { kind: 'deal', id: deal.id },
      title: 'Send the quote',
      dueDate: '2026-03-31',
      assigneeEmail: 'BOB@acme.test',
    });
    expect(t.status).toBe(201);
    expect(t.body).toMatchObject({
      title: 'Send the quote',
      assigneeId: String(bob.userId),
      authorId: String(ada.userId),
      dueDate: '2026-03-31T23:59:59.999Z',
      done: false,
    });
    const mine = await post(ada, '/api/tasks', { record: { kind: 'contact', id: contactId }, title: 'Call Pat' });
    expect(mine.body).toMatchObject({ assigneeId: String(ada.userId), dueDate: null });

    expect((await get(ada, `/api/tasks?kind=deal&id=${deal.id}`)).body.tasks.map((x: { title: string }) => x.title)).toEqual(['Send the quote']);
    expect((await get(bob, '/api/tasks?assignee=me&done=false')).body.tasks.map((x: { title: string }) => x.title)).toEqual(['Send the quote']);
    const done = await request(svc.app).patch(`/api/tasks/${t.body.id}`).set(bearer(bob)).send({ done: true });
    expect(done.body.done).toBe(true);
    expect((await get(bob, '/api/tasks?assignee=me&done=false')).body.tasks).toEqual([]);
  });

  it('refuses an assignee outside the organisation, a bad date, and an empty change', async () => {
    const nobody = await post(ada, '/api/tasks', { record: { kind: 'contact', id: contactId }, title: 'x', assigneeEmail: 'eve@other.test' });
    expect(nobody.status).toBe(400);
    expect(nobody.body.error.details).toEqual({ field: 'assigneeEmail' });
    expect((await post(ada, '/api/tasks', { record: { kind: 'contact', id: contactId }, title: 'x', dueDate: 'next friday' })).status).toBe(400);
    const t = await post(ada, '/api/tasks', { record: { kind: 'contact', id: contactId }, title: 'y' });
    expect((await request(svc.app).patch(`/api/tasks/${t.body.id}`).set(bearer(ada)).send({})).status).toBe(400);
    expect((await request(svc.app).patch(`/api/tasks/${t.body.id}`).set(bearer(eve)).send({ done: true })).status).toBe(404);
  });
});
