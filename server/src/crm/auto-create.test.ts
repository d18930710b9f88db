import { isRoleAddress, isRoleParticipant, shouldAutoCreateContact, suggestContact, type AutoCreateMessage } from './auto-create';
import type { MessageHeaders } from '../mail/message';

const noHeaders: MessageHeaders = { listId: null, listUnsubscribe: null, autoSubmitted: null, precedence: null };
const inbound: AutoCreateMessage = { direction: 'inbound', fromMe: false, headers: noHeaders };
const outbound: AutoCreateMessage = { direction: 'outbound', fromMe: true, headers: noHeaders };
const ctx = {
  ownAddresses: ['Dana.Whitfield@acme-robotics.com'],
  orgDomains: ['acme-robotics.com'],
  excluded: (email: string) => email === 'private@clinic.org' || email.endsWith('.bank.com'),
};
const helen = { email: 'Helen.Park@globex-logistics.com', name: 'Helen Park' };

describe('shouldAutoCreateContact', () => {
  it('policy none never creates', () => {
    expect(shouldAutoCreateContact(helen, outbound, 'none', ctx)).toEqual({ create: false, reason: 'policy_none' });
  });

  it('policy outbound creates only people the user wrote to', () => {
    expect(shouldAutoCreateContact(helen, outbound, 'outbound', ctx)).toEqual({ create: true, reason: 'outbound_recipient' });
    expect(shouldAutoCreateContact(helen, inbound, 'outbound', ctx)).toEqual({ create: false, reason: 'not_written_to' });
  });

  it('policy all creates inbound senders as well', () => {
    expect(shouldAutoCreateContact(helen, inbound, 'all', ctx)).toEqual({ create: true, reason: 'participant' });
    expect(shouldAutoCreateContact(helen, outbound, 'all', ctx)).toEqual({ create: true, reason: 'outbound_recipient' });
  });

  it.each([
    [{ email: 'dana.whitfield@ACME-robotics.com', name: 'Dana' }, 'own_address'],
    [{ email: 'private@clinic.org', name: 'P' }, 'excluded'],
    [{ email: 'someone@online.bank.com', name: 'S' }, 'excluded'],
    [{ email: 'priya.raman@acme-robotics.com', name: 'Priya' }, 'internal_address'],
    [{ email: 'marcus@eu.acme-robotics.com', name: 'Marcus' }, 'internal_address'],
    [{ email: 'noreply@globex-logistics.com', name: '' }, 'role_address'],
    [{ email: 'support@globex-logistics.com', name: '' }, 'role_address'],
    [{ email: 'sam.okafor@gmail.com', name: 'Sam Okafor' }, 'free_mail'],
    [{ email: 'someone@hotmail.co.uk', name: '' }, 'free_mail'],
    [{ email: 'not-an-address', name: '' }, 'invalid_address'],
  ])('never for %j (%s)', (person, reason) => {
    const decision = shouldAutoCreateContact(person, outbound, 'all', ctx);
    expect(decision).toEqual({ create: false, reason });
  });

  it('never for list, bulk or auto-submitted mail', () => {
    const withHeaders = (h: Partial<MessageHeaders>): AutoCreateMessage => ({ ...inbound, headers: { ...noHeaders, ...h } });
    expect(shouldAutoCreateContact(helen, withHeaders({ listId: '<updates.ledgerly.io>' }), 'all', ctx).reason).toBe('bulk_mail');
    expect(shouldAutoCreateContact(helen, withHeaders({ listUnsubscribe: '<mailto:u@x.io>' }), 'all', ctx).reason).toBe('bulk_mail');
    expect(shouldAutoCreateContact(helen, withHeaders({ precedence: 'Bulk' }), 'all', ctx).reason).toBe('bulk_mail');
    expect(shouldAutoCreateContact(helen, withHeaders({ autoSubmitted: 'auto-replied' }), 'all', ctx).reason).toBe('auto_submitted');
    expect(shouldAutoCreateContact(helen, withHeaders({ autoSubmitted: 'no' }), 'all', ctx).create).toBe(true);
    expect(shouldAutoCreateContact(helen, withHeaders({ precedence: 'first-class' }), 'all', ctx).create).toBe(true);
  });
});

describe('isRoleAddress', () => {
  it.each([
    'noreply@x.com',
    'no-reply@x.com',
    'no_reply@x.com',
    'donotreply@x.com',
    'do-not-reply@x.com',
    'noreply-billing@x.com',
    'info@x.com',
    'support@x.com',
    'support.eu@x.com',
    'sales@x.com',
    'sales+leads@x.com',
    'notifications@x.com',
    'mailer-daemon@x.com',
    'postmaster@x.com',
    'bounces+123@x.com',
  ])('%s is a role address', (email) => {
    expect(isRoleAddress(email)).toBe(true);
  });
  it.each(['jane.doe@x.com', 'newsom@x.com', 'salesforce.jane@x.com', 'information.jane@x.com', 'supporter1@x.com'])('%s is a person', (email) => {
    expect(isRoleAddress(email)).toBe(false);
  });
});

describe('suggestContact', () => {
  it('uses the display name and the company from the domain', () => {
    expect(suggestContact(helen)).toEqual({
      email: 'helen.park@globex-logistics.com',
      name: 'Helen Park',
      companyDomain: 'globex-logistics.com',
      companyName: 'Globex Logistics',
    });
  });

  it('guesses a readable name from the local part when there is no usable display name', () => {
    expect(suggestContact({ email: 'jane.doe@acme-robotics.co.uk' })).toMatchObject({ name: 'Jane Doe', companyName: 'Acme Robotics' });
    expect(suggestContact({ email: 'jane_doe42+crm@acme.com', name: 'jane_doe42+crm@acme.com' })?.name).toBe('Jane Doe');
    expect(suggestContact({ email: 'j-p.sartre@acme.com', name: '  ' })?.name).toBe('J P Sartre');
    expect(suggestContact({ email: 'jdoe@acme.com', name: "'jdoe@acme.com'" })?.name).toBe('Jdoe');
  });

  it('reorders directory-style names', () => {
    expect(suggestContact({ email: 'j.weiss@nordlicht.de', name: 'Weiß, Jürgen' })?.name).toBe('Jürgen Weiß');
    expect(suggestContact({ email: 'x@acme.com', name: '"Park, Helen"' })?.name).toBe('Helen Park');
  });

  it('has no company for free-mail', () => {
    expect(suggestContact({ email: 'Sam.Okafor@gmail.com', name: 'Sam Okafor' })).toEqual({
      email: 'sam.okafor@gmail.com',
      name: 'Sam Okafor',
      companyDomain: null,
      companyName: null,
    });
  });

  it('is null for an unusable address', () => {
    expect(suggestContact({ email: 'nope' })).toBeNull();
  });
});

describe('isRoleParticipant', () => {
  it('is a role address, or any address under a group display name; people stay people', () => {
    expect(isRoleParticipant('ops@acme.com', 'Ops Team')).toBe(true);
    expect(isRoleParticipant('emea-leads@acme.com', 'EMEA Sales Team')).toBe(true);
    expect(isRoleParticipant('it@acme.com', 'IT Support')).toBe(true);
    expect(isRoleParticipant('info@acme.com', 'Jane Roe')).toBe(true);
    expect(isRoleParticipant('jane@acme.com', 'Jane Roe')).toBe(false);
    expect(isRoleParticipant('tim@acme.com', 'Tim Teamster')).toBe(false);
    expect(isRoleParticipant('sam@acme.com', '')).toBe(false);
  });
});
