import { exclusionReasons, mailboxReasons, unlinkedReasons, type MailboxFacts } from './why';

const now = new Date('2026-03-02T10:00:00Z');
const mailbox = (m: Partial<MailboxFacts>): MailboxFacts => ({
  address: 'rita@acme.test',
  state: 'live',
  backfill: { position: null, imported: 0, total: 0, startedAt: null, completedAt: null },
  lastError: null,
  lastSyncedAt: new Date('2026-03-02T09:55:00Z'),
  backoffUntil: null,
  nextRunAt: now,
  ...m,
});
const one = (m: Partial<MailboxFacts>, date: Date | null = null) => mailboxReasons([mailbox(m)], { historyDays: 90, date, now })[0];

describe('exclusionReasons', () => {
  it('names the rule and its scope, and sends a member to an admin for org rules', () => {
    const r = exclusionReasons('jane@hooli.com', { excluded: true, rule: { kind: 'domain', value: 'hooli.com', scope: 'org' } }, 'member');
    expect(r[0]).toEqual({
      code: 'excluded_by_rule',
      message: expect.stringContaining("anyone at hooli.com (its subdomains included) is never synced: the domain is on your organisation's list"),
      detail: { rule: 'domain', scope: 'org', value: 'hooli.com' },
    });
    expect(r[1]).toMatchObject({ code: 'how_to_change', message: expect.stringContaining('Only an admin'), detail: { settings: 'organisation' } });
    expect(exclusionReasons('jane@hooli.com', { excluded: true, rule: { kind: 'domain', value: 'hooli.com', scope: 'org' } }, 'admin')[1].message).toContain(
      'You are an admin',
    );
  });

  it('points a personal rule to personal settings, and only-known-contacts to creating the contact', () => {
    const personal = exclusionReasons('jane@x.org', { excluded: true, rule: { kind: 'address', value: 'jane@x.org', scope: 'user' } }, 'member');
    expect(personal.map((r) => r.code)).toEqual(['excluded_by_rule', 'how_to_change']);
    expect(personal[0].message).toContain('your own list of excluded addresses');
    expect(personal[1].detail).toEqual({ settings: 'personal' });
    const known = exclusionReasons('jane@x.org', { excluded: true, rule: { kind: 'onlyKnownContacts', scope: 'org' } }, 'admin');
    expect(known.map((r) => r.code)).toEqual(['excluded_by_rule', 'how_to_change', 'create_contact']);
  });
});

describe('mailboxReasons', () => {
  it('says to connect a mailbox when there is none', () => {
    expect(mailboxReasons([], { historyDays: 90, date: null, now })).toEqual([{ code: 'no_mailbox', message: expect.stringContaining('Connect yours') }]);
  });

  it('explains each state in words, with progress, time and fix', () => {
    expect(one({ state: 'backfilling', backfill: { position: null, imported: 120, total: 500, startedAt: null, completedAt: null } }).message).toContain(
      '120 of 500 emails imported',
    );
    expect(one({ state: 'throttled', backoffUntil: new Date('2026-03-02T10:15:00Z') }).message).toContain('resumes at 2026-03-02 10:15 UTC');
    const err = one({ state: 'error', lastError: { code: 'permission', message: 'Access was refused.', at: now } });
    expect(err).toMatchObject({
      code: 'mailbox_error',
      message: expect.stringContaining('Access was refused. Reconnect it and accept every permission'),
      detail: { error: 'permission' },
    });
    expect(one({ state: 'reauth_required' })).toMatchObject({ code: 'reauth_required', message: expect.stringContaining('Reconnect') });
    expect(one({ state: 'paused' }).code).toBe('paused');
  });

  it('tells older than the sync window from arriving shortly when the date is known', () => {
    expect(one({}, new Date('2025-01-01T00:00:00Z'))).toMatchObject({ code: 'older_than_history', message: expect.stringContaining('last 90 days') });
    expect(one({}, new Date('2026-03-02T09:59:00Z')).code).toBe('arriving_shortly');
    expect(one({}, new Date('2026-03-01T00:00:00Z')).code).toBe('not_in_mailbox');
    expect(one({}).code).toBe('live');
  });
});

describe('unlinkedReasons', () => {
  it('free-mail domains never make a company; a business domain without one says so', () => {
    expect(unlinkedReasons('pat@gmail.com', false).map((r) => r.code)).toEqual(['no_contact', 'free_mail_domain']);
    expect(unlinkedReasons('pat@eu.initech.com', false)[1]).toMatchObject({ code: 'no_company', detail: { domain: 'initech.com' } });
    expect(unlinkedReasons('pat@initech.com', true).map((r) => r.code)).toEqual(['no_contact']);
  });
});
