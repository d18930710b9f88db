import { GraphPushReceiver, MAX_NOTIFICATIONS_PER_REQUEST } from './push';

const receiver = new GraphPushReceiver();
const receive = (endpoint: string, body: unknown, query: Record<string, unknown> = {}) => receiver.receive({ endpoint, headers: {}, query, body });
const item = (extra: Record<string, unknown> = {}) => ({ subscriptionId: 'sub-1', clientState: 'secret', ...extra });

describe('the Graph push receiver', () => {
  it('answers the validation handshake on both endpoints with the token as text/plain', async () => {
    for (const endpoint of receiver.endpoints) {
      expect(await receive(endpoint, {}, { validationToken: 'Validation: abc' })).toEqual({
        kind: 'answer',
        status: 200,
        contentType: 'text/plain',
        body: 'Validation: abc',
      });
    }
  });

  it('makes a checked change name its message as a hint, and only a created, updated or deleted one', async () => {
    const receipt = await receive('graph', {
      value: [
        item({ changeType: 'created', resourceData: { id: 'msg-1' } }),
        item({ changeType: 'missed', resourceData: { id: 'msg-2' } }),
        item({ changeType: 'updated' }),
      ],
    });
    expect(receipt).toEqual({
      kind: 'notices',
      status: 202,
      dropped: { over_request_cap: 0 },
      notices: [
        { to: { channelId: 'sub-1', clientState: 'secret' }, hint: 'msg-1' },
        { to: { channelId: 'sub-1', clientState: 'secret' } },
        { to: { channelId: 'sub-1', clientState: 'secret' } },
      ],
    });
  });

  it('asks for a renewal on reauthorizationRequired and subscriptionRemoved, a catch-up only on missed', async () => {
    const receipt = await receive('graph/lifecycle', {
      value: [
        item({ lifecycleEvent: 'reauthorizationRequired' }),
        item({ lifecycleEvent: 'subscriptionRemoved', resourceData: { id: 'msg-1' } }),
        item({ lifecycleEvent: 'missed', clientState: undefined }),
      ],
    });
    expect(receipt.kind === 'notices' && receipt.notices).toEqual([
      { to: { channelId: 'sub-1', clientState: 'secret' }, renewChannel: true },
      { to: { channelId: 'sub-1', clientState: 'secret' }, renewChannel: true },
      { to: { channelId: 'sub-1', clientState: null } },
    ]);
  });

  it('reads no more than the per-request cap, counts the rest, and reads nothing of a body it cannot parse', async () => {
    const many = Array.from({ length: MAX_NOTIFICATIONS_PER_REQUEST + 7 }, (_, i) => item({ subscriptionId: `sub-${i}` }));
    const receipt = await receive('graph', { value: many });
    expect(receipt.kind === 'notices' && [receipt.notices.length, receipt.dropped]).toEqual([MAX_NOTIFICATIONS_PER_REQUEST, { over_request_cap: 7 }]);
    expect(await receive('graph', { value: [{ subscriptionId: 42 }] })).toMatchObject({ kind: 'notices', status: 202, notices: [] });
    expect(await receive('graph', 'not json')).toMatchObject({ kind: 'notices', status: 202, notices: [] });
  });
});
