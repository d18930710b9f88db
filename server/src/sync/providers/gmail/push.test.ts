import { PushRefused } from '../port';
import { GmailPushReceiver } from './push';

const push = (data: unknown) => ({
  message: { data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)).toString('base64'), messageId: '1' },
  subscription: 's',
});
const verified: string[] = [];
const receiver = new GmailPushReceiver(async (token) => {
  if (token !== 'good') throw new PushRefused(403, 'not our sender');
  verified.push(token);
});
const receive = (authorization: string | undefined, body: unknown) => receiver.receive({ endpoint: 'gmail', headers: { authorization }, query: {}, body });

describe('the Gmail push receiver', () => {
  it('checks the bearer token before anything, and names the mailbox by its address', async () => {
    expect(await receive('Bearer good', push({ emailAddress: 'Ada@Acme.test', historyId: 12 }))).toEqual({
      kind: 'notices',
      status: 204,
      notices: [{ to: { address: 'ada@acme.test' } }],
    });
    expect(verified).toEqual(['good']);
  });

  it('refuses a push without a token, or one the verifier refuses, as the verifier says', async () => {
    await expect(receive(undefined, push({}))).rejects.toMatchObject({ status: 401 });
    await expect(receive('Basic abc', push({}))).rejects.toMatchObject({ status: 401 });
    await expect(receive('Bearer bad', push({}))).rejects.toMatchObject({ status: 403 });
    await expect(
      new GmailPushReceiver().receive({ endpoint: 'gmail', headers: { authorization: 'Bearer good' }, query: {}, body: push({}) }),
    ).rejects.toBeInstanceOf(PushRefused);
  });

  it('acknowledges a garbled push with no notice, so Pub/Sub does not redeliver it forever', async () => {
    for (const body of [push('not json'), push({ emailAddress: 'not an address', historyId: 1 }), { message: {} }, null]) {
      expect(await receive('Bearer good', body)).toEqual({ kind: 'notices', status: 204, notices: [] });
    }
  });
});
