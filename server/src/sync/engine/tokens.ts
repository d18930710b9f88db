/**
 * An AccessTokenSource over a mailbox's sealed tokens (docs/SYNC.md "Failures are visible", docs/SECURITY.md):
 *
 * - The stored access token is used while it is valid (with a safety margin).
 * - One refresh at a time per mailbox: within a process the source shares one in-flight refresh; across processes a
 *   short lease on the mailbox (`tokenRefresh`) lets one worker refresh while the others wait and reuse its token.
 * - After a 401 the adapter calls invalidate(): the next call refreshes, unless another worker already replaced the
 *   token (compare-and-set on the stored ciphertext).
 * - invalid_grant (the adapter's OAuth client throws ProviderError 'auth_revoked'): the mailbox goes to
 *   `reauth_required` after that one failed refresh, and every later call fails at once without reaching the provider.
 */
import type { Types } from 'mongoose';
import type { Vault } from '../../auth/vault';
import { Mailbox, type SealedSecretDoc } from '../../models/mailbox';
import { runAsSystem } from '../../db/tenant';
import { ProviderError, type AccessTokenSource, type OAuthClient, type ProviderName } from '../providers/port';
import { claimGeneration, leaseIsFree } from './lease';
import { userMessage } from './policy';

export interface TokenDeps {
  vault: Vault;
  oauth: Partial<Record<ProviderName, Pick<OAuthClient, 'refresh'>>>;
  /** Identifies this process in the refresh lease. */
  owner: string;
  now?: () => Date;
  /** Refresh this long before expiry. Default 60 s. */
  skewSeconds?: number;
  refreshLeaseSeconds?: number;
  /** How long to wait, in total, for another worker's refresh. Default 10 s. */
  maxWaitMs?: number;
}

export interface TokenMailbox {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  provider: ProviderName;
  /** The tokens and state as the caller just read them with the mailbox (the runner's leased mailbox): see MailboxTokenSource. */
  tokens?: StoredTokens['tokens'] | null;
  state?: string;
}

interface StoredTokens {
  state: string;
  tokenRefresh?: { owner: string | null; until: Date | null; gen?: number };
  tokens?: { access: SealedSecretDoc | null; refresh: SealedSecretDoc | null; accessExpiresAt: Date | null };
}

const POLL_MS = 100;

export class MailboxTokenSource implements AccessTokenSource {
  private cached: { token: string; expiresAt: Date; ct: string } | null = null;
  private inflight: Promise<string> | null = null;
  /** The ciphertext of a token the provider refused: not to be used again. */
  private refusedCt: string | null = null;
  /**
   * The access token read with the mailbox: used for the first call while fresh, which saves a push-triggered run
   * one more read before its first provider call. A stale one is only an older token: refused, it is invalidated
   * like any other and the next call reads the stored one.
   */
  private given: StoredTokens['tokens'] | null;

  constructor(
    private readonly mailbox: TokenMailbox,
    private readonly deps: TokenDeps,
  ) {
    // Only with the state read alongside: a mailbox that needs reconnecting fails without reaching the provider.
    this.given = mailbox.state !== undefined && mailbox.state !== 'reauth_required' ? (mailbox.tokens ?? null) : null;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private fresh(expiresAt: Date | null | undefined): boolean {
    return !!expiresAt && expiresAt.getTime() - (this.deps.skewSeconds ?? 60) * 1000 > this.now().getTime();
  }

  private ctx(field: 'access' | 'refresh') {
    return { orgId: String(this.mailbox.orgId), mailboxId: String(this.mailbox._id), field };
  }

  async accessToken(): Promise<string> {
    if (this.cached && this.cached.ct !== this.refusedCt && this.fresh(this.cached.expiresAt)) return this.cached.token;
    this.inflight ??= this.obtain().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  invalidate(): void {
    if (this.cached) this.refusedCt = this.cached.ct;
    this.cached = null;
  }

  private async obtain(): Promise<string> {
    const given = this.given;
    this.given = null;
    if (given?.access && given.access.ct !== this.refusedCt && this.fresh(given.accessExpiresAt)) {
      const token = this.deps.vault.open(given.access, this.ctx('access'));
      this.cached = { token, expiresAt: given.accessExpiresAt!, ct: given.access.ct };
      return token;
    }
    const deadline = Date.now() + (this.deps.maxWaitMs ?? 10_000);
    for (;;) {
      const stored = await this.read();
      if (stored.state === 'reauth_required') throw new ProviderError('auth_revoked', 'the mailbox must be reconnected');
      const access = stored.tokens?.access ?? null;
      if (access && access.ct !== this.refusedCt && this.fresh(stored.tokens?.accessExpiresAt)) {
        const token = this.deps.vault.open(access, this.ctx('access'));
        this.cached = { token, expiresAt: stored.tokens!.accessExpiresAt!, ct: access.ct };
        return token;
      }
      if (await this.takeRefreshLease(stored)) return this.refresh(stored);
      if (Date.now() > deadline) throw new ProviderError('transient', 'another worker is refreshing the access token');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private read(): Promise<StoredTokens> {
    return runAsSystem('token source', async () => {
      const doc = await Mailbox.findById(this.mailbox._id, { state: 1, tokens: 1, tokenRefresh: 1 }).lean<StoredTokens>();
      if (!doc) throw new ProviderError('auth_revoked', 'the mailbox no longer exists');
      return doc;
    });
  }

  /** One refresh across processes: the refresh lease is claimed through a generation lock (see lease.ts). */
  private async takeRefreshLease(stored: StoredTokens): Promise<boolean> {
    const now = this.now();
    if (!leaseIsFree(stored.tokenRefresh, this.deps.owner, now)) return false;
    const gen = (stored.tokenRefresh?.gen ?? 0) + 1;
    if (!(await claimGeneration(this.mailbox.orgId, 'refresh', this.mailbox._id, gen, this.deps.owner, now))) return false;
    const until = new Date(now.getTime() + (this.deps.refreshLeaseSeconds ?? 30) * 1000);
    await runAsSystem('token refresh lease', () =>
      Mailbox.updateOne({ _id: this.mailbox._id }, { $set: { tokenRefresh: { owner: this.deps.owner, until, gen } } }),
    );
    return true;
  }

  private async refresh(stored: StoredTokens): Promise<string> {
    const clear = { 'tokenRefresh.owner': null, 'tokenRefresh.until': null };
    const fenced = { _id: this.mailbox._id, 'tokenRefresh.owner': this.deps.owner };
    try {
      const client = this.deps.oauth[this.mailbox.provider];
      const sealedRefresh = stored.tokens?.refresh;
      if (!client || !sealedRefresh) throw new ProviderError('auth_revoked', 'no refresh token is stored for this mailbox');
      const tokens = await client.refresh(this.deps.vault.open(sealedRefresh, this.ctx('refresh')));
      const access = this.deps.vault.seal(tokens.accessToken, this.ctx('access'));
      await runAsSystem('token refresh', () =>
        Mailbox.updateOne(fenced, {
          $set: {
            'tokens.access': access,
            'tokens.accessExpiresAt': tokens.expiresAt,
            ...(tokens.refreshToken ? { 'tokens.refresh': this.deps.vault.seal(tokens.refreshToken, this.ctx('refresh')) } : {}),
            ...clear,
          },
        }),
      );
      this.cached = { token: tokens.accessToken, expiresAt: tokens.expiresAt, ct: access.ct };
      this.refusedCt = null;
      return tokens.accessToken;
    } catch (err) {
      const revoked = err instanceof ProviderError && err.code === 'auth_revoked';
      await runAsSystem('token refresh', () =>
        Mailbox.updateOne(fenced, {
          $set: {
            ...clear,
            ...(revoked ? { state: 'reauth_required', lastError: { code: 'auth_revoked', message: userMessage('auth_revoked'), at: this.now() } } : {}),
          },
        }),
      );
      throw err;
    }
  }
}

export function createTokenSource(mailbox: TokenMailbox, deps: TokenDeps): AccessTokenSource {
  return new MailboxTokenSource(mailbox, deps);
}
