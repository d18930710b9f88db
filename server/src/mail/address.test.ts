import { addressInDomains, domainMatches, domainOf, localPartOf, normaliseAddress, normaliseDomain } from './address';

describe('normaliseAddress', () => {
  it.each([
    ['jane@acme.com', 'jane@acme.com'],
    ['  Jane.Doe@ACME.com  ', 'jane.doe@acme.com'],
    ['<jane@acme.com>', 'jane@acme.com'],
    ['Jane Doe <Jane@Acme.com>', 'jane@acme.com'],
    ['"Doe, Jane <x>" <jane@acme.com>', 'jane@acme.com'],
    ['mailto:Jane@Acme.com', 'jane@acme.com'],
    ['MAILTO:jane%40acme.com?subject=hi', 'jane@acme.com'],
    ['<mailto:jane@acme.com>', 'jane@acme.com'],
    ['jane+crm@acme.com', 'jane+crm@acme.com'],
    ['jane@acme.com.', 'jane@acme.com'],
    ['jane@bücher.de', 'jane@xn--bcher-kva.de'],
    ['jane@xn--bcher-kva.de', 'jane@xn--bcher-kva.de'],
    ['jürgen@nordlicht.de', 'jürgen@nordlicht.de'],
    ['ops@[192.0.2.1]', 'ops@[192.0.2.1]'],
    ['ja\u0000ne@acme.com', 'jane@acme.com'],
    ['\u200bjane@acme.com', 'jane@acme.com'],
    ["o'brien@acme.ie", "o'brien@acme.ie"],
  ])('%j → %j', (input, expected) => {
    expect(normaliseAddress(input)).toBe(expected);
  });

  it.each([
    [''],
    ['   '],
    ['jane'],
    ['undisclosed-recipients:;'],
    ['@acme.com'],
    ['jane@'],
    ['jane@localhost'],
    ['jane@acme'],
    ['jane@acme..com'],
    ['jane@-acme.com'],
    ['jane@acme.123'],
    ['.jane@acme.com'],
    ['jane.@acme.com'],
    ['ja..ne@acme.com'],
    ['"jane doe"@acme.com'],
    ['jane doe@acme.com'],
    ['jane@acme .com'],
    [`${'a'.repeat(65)}@acme.com`],
    [`jane@${'a'.repeat(250)}.com`],
    ['mailto:%E0%A4%A@acme.com'],
  ])('rejects %j', (input) => {
    expect(normaliseAddress(input)).toBeNull();
  });

  it('rejects non-strings', () => {
    expect(normaliseAddress(null)).toBeNull();
    expect(normaliseAddress(undefined)).toBeNull();
  });
});

describe('normaliseDomain', () => {
  it('lowercases, drops the root dot, converts IDN to punycode', () => {
    expect(normaliseDomain(' Mail.ACME.com. ')).toBe('mail.acme.com');
    expect(normaliseDomain('bücher.de')).toBe('xn--bcher-kva.de');
  });
  it('refuses non-domains', () => {
    expect(normaliseDomain('localhost')).toBeNull();
    expect(normaliseDomain('not a domain')).toBeNull();
    expect(normaliseDomain('[999]')).toBeNull();
    expect(normaliseDomain('')).toBeNull();
  });
});

describe('domain helpers', () => {
  it('splits addresses', () => {
    expect(domainOf('jane@acme.com')).toBe('acme.com');
    expect(localPartOf('jane@acme.com')).toBe('jane');
    expect(domainOf('nothing')).toBe('');
  });

  it('matches whole labels, subdomains included', () => {
    expect(domainMatches('example.com', 'example.com')).toBe(true);
    expect(domainMatches('mail.example.com', 'example.com')).toBe(true);
    expect(domainMatches('a.b.example.com', 'example.com')).toBe(true);
    expect(domainMatches('notexample.com', 'example.com')).toBe(false);
    expect(domainMatches('example.com.evil.net', 'example.com')).toBe(false);
    expect(domainMatches('example.com', 'mail.example.com')).toBe(false);
    expect(domainMatches('', 'example.com')).toBe(false);
    expect(addressInDomains('jane@eu.acme.com', ['other.org', 'acme.com'])).toBe(true);
    expect(addressInDomains('jane@acme.com.au', ['acme.com'])).toBe(false);
  });
});
