import { classifyDirection, isFromMailbox, ownAddresses } from './direction';

const a = (...emails: string[]) => emails.map((email) => ({ email, name: '' }));
const message = (from: string[], to: string[], cc: string[] = [], bcc: string[] = []) => ({
  from: a(...from),
  to: a(...to),
  cc: a(...cc),
  bcc: a(...bcc),
});
const mailbox = { address: 'Dana.Whitfield@acme-robotics.com', aliases: ['dana@acme-robotics.co.uk'] };
const org = ['acme-robotics.com'];

describe('classifyDirection', () => {
  it('inbound: someone outside wrote to the mailbox', () => {
    expect(classifyDirection(message(['helen@globex.com'], ['dana.whitfield@acme-robotics.com']), mailbox, org)).toBe('inbound');
  });

  it('outbound: the mailbox (or an alias) wrote to someone outside', () => {
    expect(classifyDirection(message(['dana.whitfield@acme-robotics.com'], ['helen@globex.com']), mailbox, org)).toBe('outbound');
    expect(classifyDirection(message(['dana@acme-robotics.co.uk'], ['helen@globex.com']), mailbox, org)).toBe('outbound');
  });

  it('internal: only the organisation (subdomains and aliases included) takes part', () => {
    expect(classifyDirection(message(['dana.whitfield@acme-robotics.com'], ['priya@acme-robotics.com']), mailbox, org)).toBe('internal');
    expect(classifyDirection(message(['priya@eu.acme-robotics.com'], ['dana.whitfield@acme-robotics.com']), mailbox, org)).toBe('internal');
    expect(classifyDirection(message(['priya@acme-robotics.com'], ['dana@acme-robotics.co.uk']), mailbox, org)).toBe('internal');
  });

  it('a colleague Bcc-ing the mailbox with no visible recipients is internal', () => {
    expect(classifyDirection(message(['priya@acme-robotics.com'], []), mailbox, org)).toBe('internal');
  });

  it('one outside participant anywhere makes it not internal', () => {
    expect(classifyDirection(message(['priya@acme-robotics.com'], ['dana.whitfield@acme-robotics.com'], ['helen@globex.com']), mailbox, org)).toBe('inbound');
    expect(classifyDirection(message(['dana.whitfield@acme-robotics.com'], ['priya@acme-robotics.com'], [], ['helen@globex.com']), mailbox, org)).toBe(
      'outbound',
    );
  });

  it('a look-alike domain is outside', () => {
    expect(classifyDirection(message(['billing@acme-robotics.com.evil.net'], ['dana.whitfield@acme-robotics.com']), mailbox, org)).toBe('inbound');
    expect(classifyDirection(message(['x@notacme-robotics.com'], ['dana.whitfield@acme-robotics.com']), mailbox, org)).toBe('inbound');
  });

  it('no usable sender is inbound, never internal', () => {
    expect(classifyDirection(message([], ['dana.whitfield@acme-robotics.com']), mailbox, org)).toBe('inbound');
  });

  it('tolerates unnormalised org domains', () => {
    expect(classifyDirection(message(['priya@acme-robotics.com'], ['dana.whitfield@acme-robotics.com']), mailbox, [' ACME-Robotics.com. '])).toBe('internal');
  });
});

describe('mailbox identity', () => {
  it('normalises the mailbox address and aliases', () => {
    expect([...ownAddresses(mailbox)]).toEqual(['dana.whitfield@acme-robotics.com', 'dana@acme-robotics.co.uk']);
    expect(isFromMailbox(message(['dana@acme-robotics.co.uk'], []), mailbox)).toBe(true);
    expect(isFromMailbox(message(['priya@acme-robotics.com'], []), mailbox)).toBe(false);
  });
});
