import { ADDON_ACTIONS } from '@threadline/shared/src/addon-actions';
import type { Card } from '@threadline/shared/src/card';
import { ACTIONS, type ActionResult } from './actions';
import type { AddonCard } from './addon-card';
import { contextKey } from './context-cache';
import type { AddonEvent } from './event';
import { readEvent } from './event';
import { json, sessions, testPlatform, type Route } from './testing';

const message = {
  id: 'g1',
  accessToken: 'tok-g1',
  from: 'Jane Roe <jane@acme.com>',
  to: 'Rita <rita@threadline.test>',
  subject: 'Pricing',
  headers: { 'Message-ID': '<pricing-1@acme.com>' },
};
const card = (title: string): Card => ({ header: { title }, sections: [{ widgets: [{ textParagraph: { text: title } }] }] });
const event = (parameters: Record<string, string>): AddonEvent => ({ parameters, formInputs: {}, gmail: { accessToken: 'tok-g1', messageId: 'g1' } });

function pushed(result: ActionResult): AddonCard {
  if (!('push' in result)) throw new Error(`expected a pushed card, got ${JSON.stringify(result)}`);
  return result.push;
}
const buttonsOf = (c: AddonCard) => c.sections.flatMap((s) => s.widgets.flatMap((w) => ('buttonList' in w ? w.buttonList.buttons : [])));

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
    const { p, ctx, requests } = testPlatform(
      server((r) => {
        if (r.path === '/api/contacts') {
          created = true;
          return json(201, { id: 'c1' });
        }
        if (r.path === '/api/addon/context') return json(200, { view: {}, card: card(created ? 'Jane (contact)' : 'Jane (unknown)') });
        return json(404, {});
      }),
      { messages: [message] },
    );
    p.userCache.put(contextKey('jane@acme.com'), JSON.stringify({ messageId: 'g1', card: card('stale') }), 60);
    const result = ACTIONS.createContact(ctx, event({ email: 'jane@acme.com', name: 'Jane Roe', companyName: '' }));
    expect(result).toEqual({ update: card('Jane (contact)'), notify: 'Contact created for jane@acme.com.' });
    expect(requests.find((r) => r.path === '/api/contacts')?.body).toEqual({ email: 'jane@acme.com', name: 'Jane Roe' });
    expect(requests.find((r) => r.path === '/api/addon/context')?.body).toEqual({
      provider: 'gmail',
      message: {
        from: { email: 'jane@acme.com', name: 'Jane Roe' },
        to: [{ email: 'rita@threadline.test', name: 'Rita' }],
        cc: [],
        subject: 'Pricing',
        internetMessageId: '<pricing-1@acme.com>',
      },
    });
    expect(JSON.parse(p.userCache.get(contextKey('jane@acme.com'))!).card).toEqual(card('Jane (contact)'));
  });

  it('createContact: a contact created meanwhile (409) is not an error', () => {
    const { ctx } = testPlatform(
      server((r) =>
        r.path === '/api/contacts'
          ? json(409, { error: { code: 'conflict', message: 'exists', details: { existingId: 'c1' } } })
          : json(200, { view: {}, card: card('Jane') }),
      ),
      { messages: [message] },
    );
    expect(ACTIONS.createContact(ctx, event({ email: 'jane@acme.com' }))).toEqual({ update: card('Jane'), notify: 'jane@acme.com is already in the CRM.' });
  });

  it('neverLogSender only asks: no server call until "Never log" is chosen; Cancel goes back', () => {
    const { ctx, requests } = testPlatform(
      server(() => json(500, {})),
      { messages: [message] },
    );
    const result = ACTIONS.neverLogSender(ctx, event({ email: 'jane@acme.com' }));
    expect(requests).toEqual([]);
    const asked = pushed(result);
    expect(asked.header.title).toBe('Never log this sender?');
    expect(buttonsOf(asked).map((b) => b.onClick)).toEqual([
      { action: { function: 'excludeSender', parameters: { email: 'jane@acme.com' } } },
      { action: { function: 'goBack' } },
    ]);
    expect(ACTIONS.goBack(ctx, event({}))).toEqual({ back: true });
  });

  it('excludeSender: one POST the server answers at once, then "Undo" until its deadline', () => {
    const { p, ctx, requests } = testPlatform(
      server((r) => {
        if (r.path === '/api/me/excluded-senders') return json(202, { email: 'jane@acme.com', changed: true, undoUntil: '2026-03-02T10:10:00.000Z' });
        if (r.path.startsWith('/api/me/excluded-senders/')) return json(200, { email: 'jane@acme.com', changed: true });
        return json(200, { view: {}, card: card('Jane') });
      }),
      { messages: [message] },
    );
    p.userCache.put(contextKey('jane@acme.com'), JSON.stringify({ messageId: 'g1', card: card('stale') }), 60);
    const result = ACTIONS.excludeSender(ctx, event({ email: 'Jane@Acme.com' }));
    expect(requests.filter((r) => r.path !== '/api/session').map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body)}`)).toEqual([
      'post /api/me/excluded-senders {"email":"Jane@Acme.com"}',
    ]);
    expect(p.userCache.get(contextKey('jane@acme.com'))).toBeNull();
    if (!('update' in result)) throw new Error('expected an update');
    expect(result.notify).toBe('Mail from jane@acme.com will no longer be logged for you.');
    const undo = buttonsOf(result.update)[0];
    expect(undo).toEqual({
      text: 'Undo',
      onClick: { action: { function: 'undoExcludeSender', parameters: { email: 'jane@acme.com', undoUntil: '2026-03-02T10:10:00.000Z' } } },
    });
    const undone = ACTIONS.undoExcludeSender(ctx, event({ email: 'jane@acme.com' }));
    expect(requests.some((r) => r.method === 'delete' && r.path === '/api/me/excluded-senders/jane%40acme.com')).toBe(true);
    expect(undone).toEqual({ root: card('Jane'), notify: 'Mail from jane@acme.com is logged again.' });
  });

  it('attachToDeal posts the thread to the deal and shows the card afresh; createDeal makes the deal with the contacts, then attaches', () => {
    const { ctx, requests } = testPlatform(
      server((r) => {
        if (r.path === '/api/deals') return json(201, { id: 'd9', name: (r.body as { name: string }).name });
        if (r.path.endsWith('/mail')) return json(200, { deal: {}, attached: { scope: 'thread', messages: 2 } });
        return json(200, { view: {}, card: card('Jane') });
      }),
      { messages: [message] },
    );
    const attached = ACTIONS.attachToDeal(ctx, event({ dealId: 'd1', dealName: 'Renewal', internetMessageId: 'pricing-1@acme.com' }));
    expect(attached).toMatchObject({ update: card('Jane'), notify: 'This thread is now on Renewal.' });
    expect(requests.find((r) => r.path === '/api/deals/d1/mail')?.body).toEqual({ internetMessageId: 'pricing-1@acme.com', scope: 'thread' });

    const asked = pushed(ACTIONS.newDeal(ctx, event({ contactIds: 'c1,c2', internetMessageId: 'pricing-1@acme.com' })));
    expect(asked.sections[0].widgets[0]).toEqual({ textInput: { name: 'dealName', label: 'Deal name', value: 'Pricing' } });
    const params = buttonsOf(asked)[0].onClick;
    expect(params).toEqual({ action: { function: 'createDeal', parameters: { contactIds: 'c1,c2', internetMessageId: 'pricing-1@acme.com' } } });
    expect(ACTIONS.createDeal(ctx, { ...event({ contactIds: 'c1,c2', internetMessageId: 'pricing-1@acme.com' }), formInputs: { dealName: '  ' } })).toEqual({
      notify: 'Give the deal a name.',
    });
    const created = ACTIONS.createDeal(ctx, {
      ...event({ contactIds: 'c1,c2', internetMessageId: 'pricing-1@acme.com' }),
      formInputs: { dealName: 'Acme pricing' },
    });
    expect(requests.find((r) => r.path === '/api/deals')?.body).toEqual({ name: 'Acme pricing', contactIds: ['c1', 'c2'] });
    expect(requests.filter((r) => r.path === '/api/deals/d9/mail')).toHaveLength(1);
    expect(created).toEqual({ root: card('Jane'), notify: 'Deal “Acme pricing” created.' });
  });

  it('addNote/addTask ask for the text; saveNote/saveTask store it on the record and go back', () => {
    const { ctx, requests } = testPlatform(
      server((r) => json(201, { id: 'n1', ...(r.body as object) })),
      { messages: [message] },
    );
    const record = { kind: 'contact', id: 'c1', name: 'Jane Roe' };
    expect(pushed(ACTIONS.addNote(ctx, event(record))).header).toEqual({ title: 'Add a note', subtitle: 'On contact Jane Roe' });
    expect(pushed(ACTIONS.addTask(ctx, event(record))).sections[0].widgets.map((w) => ('textInput' in w ? w.textInput.name : ''))).toEqual([
      'taskTitle',
      'taskDue',
      'taskAssignee',
      '',
    ]);
    expect(ACTIONS.saveNote(ctx, { ...event(record), formInputs: { noteBody: ' ' } })).toEqual({ notify: 'Write the note first.' });
    expect(ACTIONS.saveNote(ctx, { ...event(record), formInputs: { noteBody: 'Met at the fair.' } })).toEqual({
      back: true,
      notify: 'Note added to Jane Roe.',
    });
    expect(ACTIONS.saveTask(ctx, { ...event(record), formInputs: { taskTitle: 'Call back', taskDue: '2026-03-31', taskAssignee: '' } })).toEqual({
      back: true,
      notify: 'Task added to Jane Roe, due 2026-03-31.',
    });
    expect(requests.filter((r) => r.method === 'post' && r.path !== '/api/session').map((r) => [r.path, r.body])).toEqual([
      ['/api/notes', { record: { kind: 'contact', id: 'c1' }, body: 'Met at the fair.' }],
      ['/api/tasks', { record: { kind: 'contact', id: 'c1' }, title: 'Call back', dueDate: '2026-03-31' }],
    ]);
  });

  it('dontLog / logAgain / setSharing: one call each, then the sender’s card afresh with the server’s new state', () => {
    const { p, ctx, requests } = testPlatform(
      server((r) => {
        if (r.path === '/api/me/excluded-messages')
          return json(201, { id: 'x1', scope: (r.body as { scope: string }).scope, created: true, removed: { copies: 1, messages: 1 } });
        if (r.path.startsWith('/api/me/excluded-messages/')) return json(200, { id: 'x1', reimport: { messages: 1, reconcile: false } });
        if (r.path.endsWith('/visibility')) return json(200, { messageId: 'm1', sharing: {} });
        return json(200, { view: {}, card: card('fresh') });
      }),
      { messages: [message] },
    );
    const stale = () => p.userCache.put(contextKey('jane@acme.com'), JSON.stringify({ messageId: 'g1', card: card('stale') }), 60);
    stale();
    expect(ACTIONS.dontLog(ctx, event({ internetMessageId: 'pricing-1@acme.com', scope: 'thread' }))).toEqual({
      update: card('fresh'),
      notify: 'This thread is no longer logged for you.',
    });
    stale();
    expect(ACTIONS.logAgain(ctx, event({ exclusionId: 'x1', scope: 'message' }))).toEqual({
      update: card('fresh'),
      notify: 'This email is logged again: it is back in the CRM within a minute or so.',
    });
    expect(ACTIONS.setSharing(ctx, event({ messageId: 'm1', level: 'private' }))).toMatchObject({ notify: 'This email is private now: only you see it.' });
    expect(ACTIONS.setSharing(ctx, event({ messageId: 'm1', level: 'default' }))).toMatchObject({ notify: 'This email follows your default sharing again.' });
    expect(
      requests.filter((r) => !['/api/session', '/api/addon/context'].includes(r.path)).map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body ?? null)}`),
    ).toEqual([
      'post /api/me/excluded-messages {"internetMessageId":"pricing-1@acme.com","scope":"thread"}',
      'delete /api/me/excluded-messages/x1 null',
      'put /api/messages/m1/visibility {"level":"private"}',
      'put /api/messages/m1/visibility {"level":null}',
    ]);
    // Every change asked the server for a fresh card, never the cached one.
    expect(requests.filter((r) => r.path === '/api/addon/context')).toHaveLength(4);
    expect(() => ACTIONS.dontLog(ctx, event({ scope: 'message' }))).toThrow(/no internetMessageId/);
  });

  it('connectMailbox opens the provider’s consent page', () => {
    const { ctx } = testPlatform(server(() => json(200, { authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth?x=1' })));
    expect(ACTIONS.connectMailbox(ctx, event({}))).toEqual({
      openLink: { url: 'https://accounts.google.com/o/oauth2/v2/auth?x=1', openAs: 'OVERLAY', onClose: 'RELOAD' },
    });
  });

  it('whyNotHere asks the server (with the email’s date) and pushes its answer as a card', () => {
    const dated = { ...message, headers: { ...message.headers, Date: 'Mon, 2 Mar 2026 09:00:00 +0000' } };
    const answer = {
      verdict: 'excluded',
      reasons: [
        {
          code: 'excluded_by_rule',
          message: 'Mail with jane@acme.com is never synced <b>.',
          detail: { rule: 'address', scope: 'user', value: 'jane@acme.com' },
        },
        { code: 'how_to_change', message: 'You set this rule yourself.' },
      ],
    };
    const { ctx, requests } = testPlatform(
      server(() => json(200, answer)),
      { messages: [dated] },
    );
    const result = ACTIONS.whyNotHere(ctx, event({ internetMessageId: '<pricing-1@acme.com>', email: 'jane@acme.com' }));
    expect(requests.at(-1)?.path).toBe(
      '/api/why?messageId=%3Cpricing-1%40acme.com%3E&email=jane%40acme.com&date=Mon%2C%202%20Mar%202026%2009%3A00%3A00%20%2B0000',
    );
    expect(result).toMatchObject({ push: { header: { title: "Why isn't this email here?", subtitle: 'Not synced: a rule excludes it' } } });
    const card = pushed(result);
    expect(card.sections[0].widgets.map((w) => ('decoratedText' in w ? w.decoratedText.text : ''))).toEqual([
      'Mail with jane@acme.com is never synced &lt;b&gt;.',
      'You set this rule yourself.',
    ]);
    // The user's own address rule can be lifted right here, through the settings card's action.
    expect(buttonsOf(card)[0]).toEqual({
      text: 'Log this sender again',
      onClick: { action: { function: 'allowSender', parameters: { email: 'jane@acme.com' } } },
    });
  });

  it('whyNotHere without anything to look up says so, and works without an open email', () => {
    const { ctx, requests } = testPlatform(
      server(() => json(200, { verdict: 'not_yet_synced', reasons: [{ code: 'no_mailbox', message: 'Connect yours.' }] })),
    );
    expect(ACTIONS.whyNotHere(ctx, { parameters: {}, formInputs: {}, gmail: null })).toEqual({ notify: expect.stringContaining('no Message-ID') });
    const result = ACTIONS.whyNotHere(ctx, { parameters: { email: 'jane@acme.com' }, formInputs: {}, gmail: null });
    expect(requests.at(-1)?.path).toBe('/api/why?email=jane%40acme.com');
    expect(buttonsOf(pushed(result)).map((b) => b.text)).toEqual(['Connect mailbox', 'Open Threadline']);
  });

  it('searchContacts reads the text input from either event shape', () => {
    const { ctx, requests } = testPlatform(server(() => json(200, { contacts: [{ id: 'c1', name: 'Jane', email: 'jane@acme.com', title: '' }] })));
    const e = readEvent({ commonEventObject: { formInputs: { q: { stringInputs: { value: ['jane & co'] } } } } });
    expect(ACTIONS.searchContacts(ctx, e)).toMatchObject({ push: { header: { title: 'Contacts' } } });
    expect(requests.at(-1)?.path).toBe('/api/contacts?q=jane%20%26%20co&limit=20');
    expect(readEvent({ formInput: { q: 'x' }, parameters: { a: '1' } })).toEqual({ parameters: { a: '1' }, formInputs: { q: 'x' }, gmail: null });
  });
});
