import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { GOOGLE_AUD, startTestIdp, type TestIdp } from '../../../test/helpers/idp';
import { testService } from '../../../test/helpers/service';
import { runInOrg } from '../db/tenant';
import { AuditLog } from '../models/audit';
import { MailboxMessage } from '../models/mailbox-message';
import { UNDO_WINDOW_SECONDS } from './sender-exclusion-routes';
import { bearer, seedMessage, signIn, type SignedIn } from '../../../test/helpers/seed';

useTestDatabase();

let idp: TestIdp;
let svc: ReturnType<typeof testService>;
let bob: SignedIn;

beforeAll(async () => {
  idp = await startTestIdp();
  svc = testService({ GOOGLE_JWKS_URL: idp.googleJwksUrl, GOOGLE_ID_TOKEN_AUDIENCES: GOOGLE_AUD });
  bob = await signIn(svc.app, idp, 'bob@acme.test', 'acme.test');
});
afterAll(() => idp.close());

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const copiesOfBob = () => runInOrg(bob.orgId, () => MailboxMessage.countDocuments({ mailboxId: bob.mailboxId }));

describe('/api/me/excluded-senders', () => {
  it("answers 202 with an undo deadline, then removes the sender's past mail in the background; undo lifts the rule", async () => {
    await seedMessage({ holders: [{ who: bob }], from: 'pat@initech.com', subject: 'From Pat' });
    await seedMessage({ holders: [{ who: bob }], from: 'sue@hooli.com', subject: 'From Sue' });
    expect(await copiesOfBob()).toBe(2);

    const before = Date.now();
    const res = await request(svc.app).post('/api/me/excluded-senders').set(bearer(bob)).send({ email: 'Pat <PAT@initech.com>' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ email: 'pat@initech.com', changed: true, undoUntil: expect.any(String) });
    expect(Date.parse(res.body.undoUntil) - before).toBeGreaterThanOrEqual(UNDO_WINDOW_SECONDS * 1000 - 1000);
    expect((await request(svc.app).get('/api/me/settings').set(bearer(bob))).body.excludedAddresses).toEqual(['pat@initech.com']);

    await until(async () => (await copiesOfBob()) === 1);
    await until(async () => (await runInOrg(bob.orgId, () => AuditLog.countDocuments({ action: 'settings.user.exclude_sender' }))) === 1);

    const again = await request(svc.app).post('/api/me/excluded-senders').set(bearer(bob)).send({ email: 'pat@initech.com' });
    expect(again.status).toBe(202);
    expect(again.body.changed).toBe(false);

    const undo = await request(svc.app).delete('/api/me/excluded-senders/pat%40initech.com').set(bearer(bob));
    expect(undo.status).toBe(200);
    expect(undo.body).toEqual({ email: 'pat@initech.com', changed: true });
    expect((await request(svc.app).get('/api/me/settings').set(bearer(bob))).body.excludedAddresses).toEqual([]);
    await until(async () => (await runInOrg(bob.orgId, () => AuditLog.countDocuments({ action: 'settings.user.allow_sender' }))) === 1);
  });

  it('refuses what is not an address, naming the field', async () => {
    const res = await request(svc.app).post('/api/me/excluded-senders').set(bearer(bob)).send({ email: 'nobody' });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual({ field: 'email' });
    expect((await request(svc.app).post('/api/me/excluded-senders').send({ email: 'a@b.c' })).status).toBe(401);
  });
});
