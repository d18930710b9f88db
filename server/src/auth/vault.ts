/**
 * The token vault: provider tokens (refresh and access tokens) are stored encrypted with AES-256-GCM (docs/SECURITY.md
 * "Data at rest").
 *
 * - A random 96-bit IV per seal: the size GCM is specified for (NIST SP 800-38D §8.2); random IVs are safe far below
 *   the 2^32 seals per key that would make a collision likely.
 * - Associated data `orgId|mailboxId|field` binds each ciphertext to where it belongs, so a secret copied to another
 *   organisation, mailbox or field (a cross-tenant copy in the database) does not open.
 * - Each sealed secret carries the id of its key so that keys can be rotated: old keys stay readable until every
 *   secret has been re-sealed under the current one.
 * - Fail closed: anything malformed, unknown or not authentic is a `VaultError`; no partial plaintext ever comes out.
 * - Values are never logged and never put into error messages.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Config } from '../config';

/** What is stored in MongoDB in place of a token: a plain object of base64url strings. */
export interface SealedSecret {
  v: 1;
  /** first 8 hex characters of sha256(key) */
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

/** Where a secret belongs; all three parts go into the associated data. */
export interface SecretContext {
  orgId: string;
  mailboxId: string;
  /** e.g. 'refreshToken', 'accessToken' */
  field: string;
}

export type VaultErrorCode = 'invalid_key' | 'invalid_context' | 'malformed' | 'unknown_key' | 'decrypt_failed';

export class VaultError extends Error {
  override readonly name = 'VaultError';
  constructor(
    readonly code: VaultErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface VaultKeys {
  /** 32 bytes; new secrets are sealed with it */
  currentKey: Buffer;
  /** previous keys, still accepted for opening during a rotation */
  oldKeys?: Buffer[];
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const KID = /^[0-9a-f]{8}$/;

/** The key id: short, not secret (a truncated hash reveals nothing useful about a 256-bit key). */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export class Vault {
  // Private fields so that logging or inspecting a Vault never shows key material (KeyObjects do not print it either).
  readonly #keys = new Map<string, KeyObject>();
  readonly #currentKid: string;

  constructor({ currentKey, oldKeys = [] }: VaultKeys) {
    this.#currentKid = this.#addKey(currentKey, 'currentKey');
    oldKeys.forEach((key, i) => this.#addKey(key, `oldKeys[${i}]`));
  }

  /** The id of the key new secrets are sealed with. */
  get currentKid(): string {
    return this.#currentKid;
  }

  seal(plain: string, ctx: SecretContext): SealedSecret {
    if (typeof plain !== 'string') throw new VaultError('malformed', 'only strings can be sealed');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#key(this.#currentKid), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(ctx));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return { v: 1, kid: this.#currentKid, iv: iv.toString('base64url'), tag: cipher.getAuthTag().toString('base64url'), ct: ct.toString('base64url') };
  }

  open(sealed: SealedSecret, ctx: SecretContext): string {
    const aad = associatedData(ctx);
    const { kid, iv, tag, ct } = parseSealed(sealed);
    const key = this.#keys.get(kid);
    if (!key) throw new VaultError('unknown_key', `no key with id ${kid} is configured (was an old key dropped too early?)`);
    // authTagLength pins the tag to 16 bytes: without it Node accepts truncated tags, which weakens authentication.
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    } catch {
      throw new VaultError('decrypt_failed', 'the secret does not decrypt with its key and context (tampered, or copied from elsewhere)');
    }
  }

  /** True when the secret was sealed with an older key and should be re-sealed. */
  needsRotation(sealed: SealedSecret): boolean {
    return sealed.kid !== this.#currentKid;
  }

  /** Opens the secret (so a bad one fails closed) and seals it again under the current key, with a fresh IV. */
  rotate(sealed: SealedSecret, ctx: SecretContext): SealedSecret {
    return this.seal(this.open(sealed, ctx), ctx);
  }

  #addKey(key: Buffer, label: string): string {
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
      throw new VaultError('invalid_key', `${label} must be exactly ${KEY_BYTES} bytes`);
    }
    const kid = keyId(key);
    const existing = this.#keys.get(kid);
    if (existing && !existing.equals(createSecretKey(key))) {
      // 32-bit ids can collide in theory; two keys behind one id would make secrets ambiguous, so refuse.
      throw new VaultError('invalid_key', `${label} has the same key id as another, different key; generate a new key`);
    }
    this.#keys.set(kid, existing ?? createSecretKey(key));
    return kid;
  }

  #key(kid: string): KeyObject {
    const key = this.#keys.get(kid);
    if (!key) throw new VaultError('unknown_key', `no key with id ${kid}`);
    return key;
  }
}

export function createVault(keys: VaultKeys): Vault {
  return new Vault(keys);
}

/** Builds the vault from `TOKEN_ENCRYPTION_KEY` and the comma list `TOKEN_ENCRYPTION_OLD_KEYS` (all base64). */
export function vaultFromConfig(config: Pick<Config, 'TOKEN_ENCRYPTION_KEY' | 'TOKEN_ENCRYPTION_OLD_KEYS'>): Vault {
  if (!config.TOKEN_ENCRYPTION_KEY) {
    throw new VaultError('invalid_key', 'TOKEN_ENCRYPTION_KEY is not set (in development it is generated under DATA_DIR at start)');
  }
  const oldKeys = (config.TOKEN_ENCRYPTION_OLD_KEYS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s, i) => decodeKey(s, `TOKEN_ENCRYPTION_OLD_KEYS[${i}]`));
  return createVault({ currentKey: decodeKey(config.TOKEN_ENCRYPTION_KEY, 'TOKEN_ENCRYPTION_KEY'), oldKeys });
}

function decodeKey(value: string, label: string): Buffer {
  const key = Buffer.from(value.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new VaultError('invalid_key', `${label} must be ${KEY_BYTES} bytes, base64-encoded (e.g. \`openssl rand -base64 32\`)`);
  }
  return key;
}

/**
 * `orgId|mailboxId|field`, as docs/SECURITY.md "Data at rest" fixes it. A part containing `|` is refused, otherwise two
 * different contexts ("a|b", "c") and ("a", "b|c") would share associated data.
 */
function associatedData(ctx: SecretContext): Buffer {
  const parts = [ctx?.orgId, ctx?.mailboxId, ctx?.field];
  if (!parts.every((p) => typeof p === 'string' && p.length > 0 && !p.includes('|'))) {
    throw new VaultError('invalid_context', 'orgId, mailboxId and field must be non-empty strings without "|"');
  }
  return Buffer.from(parts.join('|'), 'utf8');
}

/** Checks the stored shape strictly: it comes from the database and may have been edited. */
function parseSealed(sealed: SealedSecret): { kid: string; iv: Buffer; tag: Buffer; ct: Buffer } {
  if (typeof sealed !== 'object' || sealed === null || sealed.v !== 1) {
    throw new VaultError('malformed', 'not a sealed secret of a known version');
  }
  if (typeof sealed.kid !== 'string' || !KID.test(sealed.kid)) throw new VaultError('malformed', 'invalid key id');
  const iv = decodeField(sealed.iv, 'iv');
  const tag = decodeField(sealed.tag, 'tag');
  const ct = decodeField(sealed.ct, 'ct');
  if (iv.length !== IV_BYTES) throw new VaultError('malformed', `iv must be ${IV_BYTES} bytes`);
  if (tag.length !== TAG_BYTES) throw new VaultError('malformed', `tag must be ${TAG_BYTES} bytes`);
  return { kid: sealed.kid, iv, tag, ct };
}

/** Node's base64url decoder skips characters it does not know; require the canonical encoding instead. */
function decodeField(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || !BASE64URL.test(value)) throw new VaultError('malformed', `${name} is not base64url`);
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.toString('base64url') !== value) throw new VaultError('malformed', `${name} is not canonical base64url`);
  return bytes;
}
