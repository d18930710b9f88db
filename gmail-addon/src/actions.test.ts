import { ADDON_ACTIONS } from '../../shared/src/addon-view';
import type { Card } from '../../shared/src/card';
import { ACTIONS } from './actions';
import { contextKey } from './context-cache';
import type { AddonEvent } from './event';
import { readEvent } from './event';
import { json, sessions, testPlatform, type Route } from './testing';

const message = {
  id: 'g1', accessToken: 'tok-g1', from: 'Jane Roe <jane@acme.com>', to: 'Rita <rita@threadline.test>', subject: 'Pricing',
  headers: { 'Message-ID': '<pricing-1@acme.com>' },
};
const card = (title: string): Card => ({ header: { title }, sections: [{ widgets: [{ textParagraph: { text: title } }] }] });
const event = (parameters: Record<string, string>): AddonEvent => ({ parameters, formInputs: {}, gmail: { accessToken: 'tok-g1', messageId: 'g1' } });

function server(extra: Route): Route {
  const signIn = sessions();
  return (r) => (r.path === '/api/session' ? signIn(r) : extra(r));
}

describe('the action table', () => {
  it('has a handler for every action the server’s cards call', () => {
    for (const name of Object.values(ADDON_ACTIONS)) expect(ACTIONS).toHaveProperty(name);
  });

  it('createContact: creates, evicts the sender’s cached card, and shows the fresh one', () => {
    let created = false;
    const { p, ctx, requests } = testPlatform(server((r) => {
      if (r.path === '/api/contacts') { created = true; return json(201, { id: 'c1' }); }
      if (r.path === '/api/addon/context') return json(200, { view: {}, card: card(created ? 'Jane (contact)' : 'Jane (unknown)') });
      return json(404, {});
    }), { messages: [message] });
    p.userCache.put(contextKey('jane@acme.com'), JSON.stringify({ messageId: 'g1', card: card('stale') }), 60);
    const result = ACTIONS.createContact(ctx, event({ email: 'jane@acme.com', name: 'Jane Roe', companyName: '' }));
    expect(result).toEqual({ update: card('Jane (contact)'), notify: 'Contact created for jane@acme.com.' });
    expect(requests.find((r) => r.path === '/api/contacts')?.body).toEqual({ email: 'jane@acme.com', name: 'Jane Roe' });
    expect(requests.find((r) => r.path === '/api/addon/context')?.body).toEqual({
      provider: 'gmail',
      message: { from: { email: 'jane@acme.com', name: 'Jane Roe' }, to: [{ email: 'rita@threadline.test', name: 'Rita' }], cc: [], subject: 'Pricing', internetMessageId: '<pricing-1@acme.com>' },
    });
    expect(JSON.parse(p.userCache.get(contextKey('jane@acme.com'))!).card).toEqual(card('Jane (contact)'));
  });

  it('createContact: a contact created meanwhile (409) is not an error', () => {
    const { ctx } = testPlatform(server((r) => (r.path === '/api/contacts'
      ? json(409, { error: { code: 'conflict', message: 'exists', details: { existingId: 'c1' } } })
      : json(200, { view: {}, card: card('Jane') }))), { messages: [message] });
    expect(ACTIONS.createContact(ctx, event({ email: 'jane@acme.com' }))).toEqual({ update: card('Jane'), notify: 'jane@acme.com is already in the CRM.' });
  });

  it('neverLogSender: sends the whole settings document back with the address added', () => {
    const { ctx, requests } = testPlatform(server((r) => {
      if (r.path === '/api/me/settings' && r.method === 'get') return json(200, { excludedDomains: ['x.com'], excludedAddresses: ['a@b.com'], excludedLabels: [], visibility: null });
      if (r.path === '/api/me/settings') return json(200, r.body);
      return json(200, { view: {}, card: card('Jane') });
    }), { messages: [message] });
    const result = ACTIONS.neverLogSender(ctx, event({ email: 'Jane@Acme.com' }));
    expect(requests.find((r) => r.method === 'put')?.body).toEqual({ excludedDomains: ['x.com'], excludedAddresses: ['a@b.com', 'jane@acme.com'], excludedLabels: [], visibility: null });
    expect(result).toMatchObject({ notify: 'Mail from Jane@Acme.com will no longer be logged for you.' });
  });

  it('connectMailbox opens the provider’s consent page; whyNotHere says it cannot explain yet', () => {
    const { ctx } = testPlatform(server(() => json(200, { authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth?x=1' })));
    expect(ACTIONS.connectMailbox(ctx, event({}))).toEqual({ openUrl: 'https://accounts.google.com/o/oauth2/v2/auth?x=1' });
    expect(ACTIONS.whyNotHere(ctx, event({}))).toEqual({ notify: expect.stringContaining('cannot explain') });
  });

  it('searchContacts reads the text input from either event shape', () => {
    const { ctx, requests } = testPlatform(server(() => json(200, { contacts: [{ id: 'c1', name: 'Jane', email: 'jane@acme.com', title: '' }] })));
    const e = readEvent({ commonEventObject: { formInputs: { q: { stringInputs: { value: ['jane & co'] } } } } });
    expect(ACTIONS.searchContacts(ctx, e)).toMatchObject({ push: { header: { title: 'Contacts' } } });
    expect(requests.at(-1)?.path).toBe('/api/contacts?q=jane%20%26%20co&limit=20');
    expect(readEvent({ formInput: { q: 'x' }, parameters: { a: '1' } })).toEqual({ parameters: { a: '1' }, formInputs: { q: 'x' }, gmail: null });
  });
});
