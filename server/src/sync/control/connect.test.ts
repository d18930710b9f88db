import { isOwnAccount } from './connect';

const googleUser = { identityKey: 'google:1001', email: 'ada@acme.test' };
const microsoftUser = { identityKey: 'microsoft:tid-1:OID-1', email: 'grace@contoso.test' };

describe('isOwnAccount: the consenting account must be the signed-in user', () => {
  it('accepts the same stable id (Microsoft ids compared without case)', () => {
    expect(isOwnAccount(googleUser, { address: 'ada@acme.test', identityKeys: ['google:1001'], verifiedEmail: 'ada@acme.test' }, 'google')).toBe(true);
    expect(isOwnAccount(microsoftUser, { address: 'grace@contoso.test', identityKeys: ['microsoft:tid-1:oid-1'], verifiedEmail: null }, 'microsoft')).toBe(
      true,
    );
  });

  it('refuses another account of the same provider, even with the same address', () => {
    expect(isOwnAccount(googleUser, { address: 'ada@acme.test', identityKeys: ['google:2002'], verifiedEmail: 'ada@acme.test' }, 'google')).toBe(false);
    expect(isOwnAccount(microsoftUser, { address: 'grace@contoso.test', identityKeys: ['microsoft:tid-2:oid-1'], verifiedEmail: null }, 'microsoft')).toBe(
      false,
    );
  });

  it('falls back to the verified address only when no stable ids can be compared', () => {
    // Google without an ID token: the verified address decides.
    expect(isOwnAccount(googleUser, { address: 'ada@acme.test', identityKeys: [], verifiedEmail: 'ada@acme.test' }, 'google')).toBe(true);
    expect(isOwnAccount(googleUser, { address: 'ada@acme.test', identityKeys: [], verifiedEmail: null }, 'google')).toBe(false);
    // A Microsoft-signed-in user connecting Gmail: Google's verified address must be theirs.
    expect(isOwnAccount(microsoftUser, { address: 'grace@contoso.test', identityKeys: ['google:3003'], verifiedEmail: 'grace@contoso.test' }, 'google')).toBe(
      true,
    );
    expect(isOwnAccount(microsoftUser, { address: 'eve@contoso.test', identityKeys: ['google:3003'], verifiedEmail: 'eve@contoso.test' }, 'google')).toBe(
      false,
    );
    // A Google-signed-in user connecting Outlook: the mailbox must be the address they signed in with.
    expect(isOwnAccount(googleUser, { address: 'ada@acme.test', identityKeys: ['microsoft:t:o'], verifiedEmail: null }, 'microsoft')).toBe(true);
    expect(isOwnAccount(googleUser, { address: 'victim@acme.test', identityKeys: ['microsoft:t:o'], verifiedEmail: null }, 'microsoft')).toBe(false);
    // Same provider without comparable ids and no verified address: refused.
    expect(isOwnAccount(microsoftUser, { address: 'grace@contoso.test', identityKeys: [], verifiedEmail: null }, 'microsoft')).toBe(false);
  });
});
