import { companyDomainFor, companyNameFromDomain, isFreeMailDomain, registrableDomain } from './domains';

describe('registrableDomain', () => {
  it.each([
    ['jane@acme.com', 'acme.com'],
    ['jane@mail.eu.acme.com', 'acme.com'],
    ['helen@mail.acme-robotics.co.uk', 'acme-robotics.co.uk'],
    ['ACME.COM', 'acme.com'],
    ['sales.acme.com.au', 'acme.com.au'],
    // Private suffixes: each tenant of a platform is its own organisation…
    ['someone@acme.github.io', 'acme.github.io'],
    ['x.blogspot.com', 'x.blogspot.com'],
    // …and the platform itself still has a registrable domain.
    ['staff@blogspot.com', 'blogspot.com'],
    ['jane@bücher.de', 'xn--bcher-kva.de'],
  ])('%s → %s', (input, expected) => {
    expect(registrableDomain(input)).toBe(expected);
  });

  it.each([['ops@[192.0.2.1]'], ['192.0.2.1'], ['co.uk'], ['jane@corp.local'], ['acme.internal'], ['localhost'], ['not an address@'], ['']])(
    '%j → null',
    (input) => {
      expect(registrableDomain(input)).toBeNull();
    },
  );
});

describe('isFreeMailDomain', () => {
  it.each([
    'gmail.com',
    'googlemail.com',
    'outlook.com',
    'hotmail.com',
    'hotmail.co.uk',
    'hotmail.fr',
    'live.com',
    'yahoo.com',
    'yahoo.co.jp',
    'yahoo.fr',
    'icloud.com',
    'me.com',
    'proton.me',
    'protonmail.com',
    'gmx.de',
    'gmx.net',
    'gmx.at',
    'aol.com',
    'GMAIL.COM',
    'jane@gmail.com',
  ])('%s is free mail', (domain) => {
    expect(isFreeMailDomain(domain)).toBe(true);
  });

  it.each(['acme.com', 'acme-robotics.co.uk', 'globex-logistics.com', 'gmail-partners.example', 'notgmail.com', 'corp.local'])(
    '%s is not free mail',
    (domain) => {
      expect(isFreeMailDomain(domain)).toBe(false);
    },
  );
});

describe('companyDomainFor', () => {
  it('gives the registrable domain for business addresses', () => {
    expect(companyDomainFor('Helen.Park@mail.globex-logistics.com')).toBe('globex-logistics.com');
  });
  it('is null for free-mail, internal-only and invalid addresses', () => {
    expect(companyDomainFor('sam.okafor@gmail.com')).toBeNull();
    expect(companyDomainFor('someone@hotmail.co.uk')).toBeNull();
    expect(companyDomainFor('ops@[192.0.2.1]')).toBeNull();
    expect(companyDomainFor('jane@corp.local')).toBeNull();
    expect(companyDomainFor('garbage')).toBeNull();
  });
});

describe('companyNameFromDomain', () => {
  it.each([
    ['acme-robotics.co.uk', 'Acme Robotics'],
    ['globex-logistics.com', 'Globex Logistics'],
    ['mail.initech.com', 'Initech'],
    ['acme.github.io', 'Acme'],
    ['xn--bcher-kva.de', 'Bücher'],
    ['jane@nordlicht-maschinenbau.de', 'Nordlicht Maschinenbau'],
  ])('%s → %s', (domain, expected) => {
    expect(companyNameFromDomain(domain)).toBe(expected);
  });
  it('is null without a registrable part', () => {
    expect(companyNameFromDomain('co.uk')).toBeNull();
    expect(companyNameFromDomain('192.0.2.1')).toBeNull();
  });
});
