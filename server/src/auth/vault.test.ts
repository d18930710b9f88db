import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { createVault, keyId, vaultFromConfig, VaultError, type SealedSecret, type SecretContext } from './vault';

const ctx: SecretContext = { orgId: 'org-1', mailboxId: 'mbx-1', field: 'refreshToken' };
const secret = '1//0gRefresh-token_ünïcode';

/** Flips one bit of a base64url field while keeping it canonical, so the check under test is the authentication. */
function flip(value: string): string {
  const bytes = Buffer.from(value, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}

function expectVaultError(fn: () => unknown, code: VaultError['code']): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(VaultError);
  expect((caught as VaultError).code).toBe(code);
}

describe('vault', () => {
  const key = randomBytes(32);
  const vault = createVault({ currentKey: key });

  it('round-trips a secret and stores a plain, JSON-safe object', () => {
    const sealed = vault.seal(secret, ctx);
    expect(sealed).toEqual({ v: 1, kid: keyId(key), iv: expect.any(String), tag: expect.any(String), ct: expect.any(String) });
    expect(JSON.parse(JSON.stringify(sealed))).toEqual(sealed);
    expect(Buffer.from(sealed.iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(sealed.tag, 'base64url')).toHaveLength(16);
    expect(JSON.stringify(sealed)).not.toContain('Refresh');
    expect(vault.open(sealed, ctx)).toBe(secret);
    expect(vault.open(vault.seal('', ctx), ctx)).toBe('');
  });

  it('uses a fresh IV each time', () => {
    const a = vault.seal(secret, ctx);
    const b = vault.seal(secret, ctx);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
  });

  it.each(['ct', 'iv', 'tag'] as const)('refuses a tampered %s', (field) => {
    const sealed = vault.seal(secret, ctx);
    expectVaultError(() => vault.open({ ...sealed, [field]: flip(sealed[field]) }, ctx), 'decrypt_failed');
  });

  it('refuses a truncated tag or an IV of the wrong size', () => {
    const sealed = vault.seal(secret, ctx);
    const shortTag = Buffer.from(sealed.tag, 'base64url').subarray(0, 8).toString('base64url');
    expectVaultError(() => vault.open({ ...sealed, tag: shortTag }, ctx), 'malformed');
    expectVaultError(() => vault.open({ ...sealed, iv: randomBytes(16).toString('base64url') }, ctx), 'malformed');
  });

  it('refuses malformed records', () => {
    const sealed = vault.seal(secret, ctx);
    expectVaultError(() => vault.open({ ...sealed, v: 2 } as unknown as SealedSecret, ctx), 'malformed');
    expectVaultError(() => vault.open({ ...sealed, ct: `${sealed.ct}*` }, ctx), 'malformed');
    expectVaultError(() => vault.open({ ...sealed, kid: 'KID!' }, ctx), 'malformed');
    expectVaultError(() => vault.open(null as unknown as SealedSecret, ctx), 'malformed');
  });

  it('refuses a tampered kid: unknown, or another configured key', () => {
    const other = randomBytes(32);
    const both = createVault({ currentKey: key, oldKeys: [other] });
    const sealed = both.seal(secret, ctx);
    expectVaultError(() => both.open({ ...sealed, kid: '00000000' }, ctx), 'unknown_key');
    expectVaultError(() => both.open({ ...sealed, kid: keyId(other) }, ctx), 'decrypt_failed');
  });

  it('refuses a secret sealed under a key it does not hold', () => {
    const sealed = createVault({ currentKey: randomBytes(32) }).seal(secret, ctx);
    expectVaultError(() => vault.open(sealed, ctx), 'unknown_key');
  });

  it.each([
    ['another organisation', { ...ctx, orgId: 'org-2' }],
    ['another mailbox', { ...ctx, mailboxId: 'mbx-2' }],
    ['another field', { ...ctx, field: 'accessToken' }],
  ])('refuses a secret copied to %s', (_, where) => {
    const sealed = vault.seal(secret, ctx);
    expectVaultError(() => vault.open(sealed, where), 'decrypt_failed');
  });

  it('refuses contexts whose associated data would be ambiguous or empty', () => {
    expectVaultError(() => vault.seal(secret, { ...ctx, orgId: 'org|mbx' }), 'invalid_context');
    expectVaultError(() => vault.seal(secret, { ...ctx, field: '' }), 'invalid_context');
    const sealed = vault.seal(secret, ctx);
    expectVaultError(() => vault.open(sealed, { ...ctx, mailboxId: undefined as unknown as string }), 'invalid_context');
  });

  it('rotates from an old key to the current one', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedOld = createVault({ currentKey: oldKey }).seal(secret, ctx);
    const rotating = createVault({ currentKey: newKey, oldKeys: [oldKey] });

    expect(rotating.needsRotation(sealedOld)).toBe(true);
    expect(rotating.open(sealedOld, ctx)).toBe(secret);
    const rotated = rotating.rotate(sealedOld, ctx);
    expect(rotated.kid).toBe(keyId(newKey));
    expect(rotating.needsRotation(rotated)).toBe(false);

    // Once the old key is dropped, only the rotated copy opens.
    const after = createVault({ currentKey: newKey });
    expect(after.open(rotated, ctx)).toBe(secret);
    expectVaultError(() => after.open(sealedOld, ctx), 'unknown_key');
  });

  it('does not rotate a secret that fails to open', () => {
    const sealed = vault.seal(secret, ctx);
    expectVaultError(() => vault.rotate(sealed, { ...ctx, orgId: 'org-2' }), 'decrypt_failed');
  });

  it('refuses keys of the wrong length', () => {
    expectVaultError(() => createVault({ currentKey: randomBytes(16) }), 'invalid_key');
    expectVaultError(() => createVault({ currentKey: randomBytes(33) }), 'invalid_key');
    expectVaultError(() => createVault({ currentKey: key, oldKeys: [randomBytes(31)] }), 'invalid_key');
    expectVaultError(() => createVault({ currentKey: 'x'.repeat(32) as unknown as Buffer }), 'invalid_key');
  });

  it('never shows key material or values in errors or when inspected', () => {
    const sealed = vault.seal(secret, ctx);
    const err = (() => {
      try {
        vault.open(sealed, { ...ctx, orgId: 'org-2' });
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected open to fail');
    })();
    expect(err.message).not.toContain(secret);
    expect(err.message).not.toContain(sealed.ct);
    const shown = JSON.stringify(vault) + inspect(vault, { showHidden: true, depth: 5 });
    expect(shown).not.toContain(key.toString('hex'));
    expect(shown).not.toContain(key.toString('base64'));
  });
});

describe('vaultFromConfig', () => {
  it('reads the current key and the old keys from base64', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedOld = createVault({ currentKey: oldKey }).seal(secret, ctx);
    const vault = vaultFromConfig({
      TOKEN_ENCRYPTION_KEY: newKey.toString('base64'),
      TOKEN_ENCRYPTION_OLD_KEYS: ` ${randomBytes(32).toString('base64')}, ${oldKey.toString('base64')} ,`,
    });
    expect(vault.currentKid).toBe(keyId(newKey));
    expect(vault.open(sealedOld, ctx)).toBe(secret);
  });

  it('refuses a missing key or one of the wrong length', () => {
    expectVaultError(() => vaultFromConfig({ TOKEN_ENCRYPTION_KEY: undefined, TOKEN_ENCRYPTION_OLD_KEYS: undefined }), 'invalid_key');
    expectVaultError(() => vaultFromConfig({ TOKEN_ENCRYPTION_KEY: randomBytes(24).toString('base64'), TOKEN_ENCRYPTION_OLD_KEYS: undefined }), 'invalid_key');
    expectVaultError(() => vaultFromConfig({ TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'), TOKEN_ENCRYPTION_OLD_KEYS: 'c2hvcnQ=' }), 'invalid_key');
  });
});
