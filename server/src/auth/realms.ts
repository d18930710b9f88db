/**
 * Identity realms of organisations (models/org-realm.ts): which organisation a Google Workspace domain or a
 * Microsoft tenant signs in to, and the admin step that attaches a Microsoft 365 tenant to an existing
 * organisation so its Outlook users join the same CRM as its Gmail users.
 *
 * Attaching is proved, not asserted: the organisation's admin starts it in Threadline, then signs in through the
 * Microsoft identity platform (authorization code + PKCE, scopes `openid profile email` only) as an administrator
 * of that tenant. The ID token we receive from the token endpoint names the tenant (`tid`, with the issuer checked
 * against it) and, when the app registration emits directory roles (manifest `groupMembershipClaims`:
 * "DirectoryRole" or "All"), the user's tenant-wide roles in `wids`. One of the roles that may consent to apps
 * for the whole tenant is required — the same people who could install the add-in for everyone.
 *
 * A realm belongs to one organisation, decided by a unique insert of its key (auth/sign-in.ts claims a realm for
 * the organisation its first sign-in creates). A tenant that already has an organisation of its own with users
 * is refused with 409: merging two organisations' data is not something to do as a side effect of a sign-in.
 */
import { createHash, randomBytes } from 'node:crypto';
import mongoose, { type Types } from 'mongoose';
import { isDuplicateKey } from '../db/errors';
import { runAsSystem, runInOrg } from '../db/tenant';
import { AuditLog, OAuthState, type OAuthStateDoc } from '../models/audit';
import { Org, type OrgDoc } from '../models/org';
import { OrgRealm, type OrgRealmDoc } from '../models/org-realm';
import { User } from '../models/user';
import { MICROSOFT_CONSUMER_TENANT, type IdentityVerifier, type VerifiedMicrosoftAdmin } from './identity';
import { takeOAuthState } from './oauth-state';

export const REALM_STATE_TTL_MS = 10 * 60_000;

/**
 * Entra built-in role template ids that may grant tenant-wide consent to an application
 * (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
 */
export const TENANT_ADMIN_ROLES: Record<string, string> = {
  '62e90394-69f5-4237-9190-012177145e10': 'Global Administrator',
  'e8611ab8-c189-46e8-94e1-60213ab1f814': 'Privileged Role Administrator',
  '158c047a-c907-4556-b7ef-446551a6b5f7': 'Cloud Application Administrator',
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3': 'Application Administrator',
};

export type RealmErrorCode = 'not_configured' | 'bad_state' | 'provider_error' | 'not_tenant_admin' | 'not_org_admin' | 'realm_in_use' | 'not_your_domain';

export class RealmError extends Error {
  constructor(
    readonly code: RealmErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get status(): 400 | 403 | 409 {
    if (this.code === 'realm_in_use') return 409;
    return this.code === 'not_tenant_admin' || this.code === 'not_org_admin' || this.code === 'not_your_domain' ? 403 : 400;
  }
}

export const realmKeyOf = (provider: 'google' | 'microsoft', id: string): string => `${provider}:${id}`;

/** The organisation a realm signs in to, or null when no organisation has claimed it yet. */
export async function orgOfRealm(key: string): Promise<Types.ObjectId | null> {
  const realm = await runAsSystem('sign-in: the organisation of an identity realm', () => OrgRealm.findById(key).lean<OrgRealmDoc>());
  return realm?.orgId ?? null;
}

/**
 * Claims `key` for `orgId` unless another organisation holds it: the insert of the `_id` decides. Returns the
 * organisation that holds the realm afterwards (ours, or the one that was first).
 */
export async function claimRealm(
  key: string,
  orgId: Types.ObjectId,
  by: { via: 'sign-in' | 'admin'; userId?: Types.ObjectId; verifiedAs?: string },
): Promise<{ orgId: Types.ObjectId; created: boolean }> {
  const provider = key.startsWith('microsoft:') ? 'microsoft' : 'google';
  try {
    await runInOrg(orgId, () =>
      OrgRealm.create({ _id: key, provider, via: by.via, attachedBy: by.userId ?? null, verifiedAs: by.verifiedAs ?? null, attachedAt: new Date() }),
    );
    return { orgId, created: true };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const holder = await orgOfRealm(key);
    if (!holder) throw err; // cannot happen: a duplicate key means the document exists
    return { orgId: holder, created: false };
  }
}

/** The realms of the caller's organisation (inside its context). */
export async function listRealms(): Promise<OrgRealmDoc[]> {
  return OrgRealm.find({}).sort({ attachedAt: 1 }).lean<OrgRealmDoc[]>();
}

export interface RealmFlowDeps {
  publicUrl: string;
  identity: IdentityVerifier;
  microsoft: { clientId?: string; clientSecret?: string; authority: string };
  fetch?: typeof fetch;
}

export const realmRedirectUri = (publicUrl: string): string => `${publicUrl}/oauth/microsoft/admin-callback`;
const SCOPES = 'openid profile email';
/** The nonce is derived from the PKCE verifier we keep, so the state needs no field of its own for it. */
const nonceOf = (codeVerifier: string): string => createHash('sha256').update(`nonce:${codeVerifier}`).digest('base64url');

/** Starts "add a Microsoft 365 tenant" for an admin of the organisation in context; answers the authorization URL. */
export async function startMicrosoftRealm(deps: RealmFlowDeps, admin: { userId: Types.ObjectId; orgId: Types.ObjectId }, loginHint?: string): Promise<string> {
  const { clientId, authority } = deps.microsoft;
  if (!clientId) throw new RealmError('not_configured', 'a Microsoft 365 tenant cannot be added: the server has no MICROSOFT_CLIENT_ID');
  const state = `${admin.orgId.toHexString()}.${randomBytes(24).toString('base64url')}`;
  const codeVerifier = randomBytes(48).toString('base64url');
  await OAuthState.create({
    state,
    userId: admin.userId,
    provider: 'microsoft',
    purpose: 'realm',
    codeVerifier,
    expiresAt: new Date(Date.now() + REALM_STATE_TTL_MS),
  });
  const url = new URL(`${authority.replace(/\/+$/, '')}/oauth2/v2.0/authorize`);
  const params: Record<string, string> = {
    client_id: clientId,
    response_type: 'code',
    response_mode: 'query',
    redirect_uri: realmRedirectUri(deps.publicUrl),
    scope: SCOPES,
    state,
    nonce: nonceOf(codeVerifier),
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
    // The tenant's administrator is usually not the Threadline admin: let them pick the account.
    prompt: 'select_account',
    ...(loginHint ? { login_hint: loginHint } : {}),
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/** The realm's pending state, taken for good (oauth-state.ts). */
async function consumeRealmState(state: string): Promise<OAuthStateDoc> {
  const found = await takeOAuthState(state, { provider: 'microsoft', purpose: 'realm' });
  if (!found) throw new RealmError('bad_state', 'unknown, expired or already used attempt; start adding the tenant again');
  return found;
}

/** Marks a state used when Microsoft answered with an error, so it cannot be replayed. */
export async function abandonMicrosoftRealm(state: string | undefined): Promise<void> {
  if (state) await consumeRealmState(state).catch(() => undefined);
}

async function redeemIdToken(deps: RealmFlowDeps, code: string, codeVerifier: string): Promise<string> {
  const { clientId, clientSecret, authority } = deps.microsoft;
  const body = new URLSearchParams({
    client_id: clientId ?? '',
    grant_type: 'authorization_code',
    code,
    redirect_uri: realmRedirectUri(deps.publicUrl),
    code_verifier: codeVerifier,
    scope: SCOPES,
  });
  if (clientSecret) body.set('client_secret', clientSecret);
  let res: Response;
  try {
    res = await (deps.fetch ?? globalThis.fetch)(`${authority.replace(/\/+$/, '')}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
    });
  } catch (err) {
    throw new RealmError('provider_error', `Microsoft could not be reached (${(err as Error).message})`);
  }
  const json = (await res.json().catch(() => ({}))) as { id_token?: string; error?: string };
  if (!res.ok || !json.id_token) throw new RealmError('provider_error', `Microsoft refused the sign-in${json.error ? ` (${json.error})` : ''}`);
  return json.id_token;
}

export interface AttachedRealm {
  orgId: Types.ObjectId;
  key: string;
  tenantId: string;
  verifiedAs: string;
  alreadyAttached: boolean;
}

/** The callback's part: code → verified ID token → checks → the tenant attached to the state's organisation. */
export async function completeMicrosoftRealm(deps: RealmFlowDeps, params: { code: string; state: string }): Promise<AttachedRealm> {
  const st = await consumeRealmState(params.state);
  const idToken = await redeemIdToken(deps, params.code, st.codeVerifier);
  let who: VerifiedMicrosoftAdmin;
  try {
    who = await deps.identity.verifyMicrosoftIdToken(idToken, nonceOf(st.codeVerifier));
  } catch (err) {
    throw new RealmError('provider_error', `the Microsoft sign-in could not be verified: ${(err as Error).message}`);
  }
  if (who.tenantId.toLowerCase() === MICROSOFT_CONSUMER_TENANT) {
    // Every personal account carries this tenant id: attaching it would join all of them to this organisation.
    throw new RealmError(
      'not_tenant_admin',
      "a personal Microsoft account (outlook.com, hotmail.com, live.com) belongs to no Microsoft 365 tenant; sign in as an administrator of your organisation's tenant",
    );
  }
  const roles = who.directoryRoles.filter((r) => r in TENANT_ADMIN_ROLES);
  if (roles.length === 0) {
    throw new RealmError(
      'not_tenant_admin',
      `${who.email} is not an administrator of the Microsoft 365 tenant (one of: ${Object.values(TENANT_ADMIN_ROLES).join(', ')}); ask one to add the tenant, or have the app registration emit directory roles (groupMembershipClaims).`,
    );
  }
  const orgId = st.orgId;
  // Still an admin of the organisation now (a role may have changed within the ten minutes).
  const starter = await runInOrg(orgId, () => User.findById(st.userId).lean<{ role: string }>());
  if (starter?.role !== 'admin') throw new RealmError('not_org_admin', 'only an admin of the organisation can add a Microsoft 365 tenant');
  const key = realmKeyOf('microsoft', who.tenantId);
  // The link can be opened by anyone it is sent to: a tenant joins only when its administrator signs in with an
  // address of the organisation's own domains, so another company's admin cannot be led into joining their whole
  // tenant to it (a tenant that has its own organisation is refused below either way).
  const holder = await orgOfRealm(key);
  const org = await Org.findById(orgId).select({ domains: 1 }).lean<Pick<OrgDoc, 'domains'>>();
  const domain = who.email.slice(who.email.lastIndexOf('@') + 1).toLowerCase();
  if ((!holder || holder.equals(orgId)) && !(org?.domains ?? []).some((d) => d.toLowerCase() === domain)) {
    throw new RealmError(
      'not_your_domain',
      `${domain} is not a domain of this organisation: a Microsoft 365 tenant is added by an administrator signing in with an address of the organisation's own domains`,
    );
  }
  return attachRealm(orgId, key, { userId: st.userId, verifiedAs: who.email, tenantId: who.tenantId });
}

/**
 * Attaches a proven realm to `orgId`. Refused (409) when it belongs to another organisation: claimed by one, or
 * the key of an organisation created before realms were recorded that has users.
 */
export async function attachRealm(
  orgId: Types.ObjectId,
  key: string,
  by: { userId: Types.ObjectId; verifiedAs: string; tenantId: string },
): Promise<AttachedRealm> {
  const claim = await claimRealm(key, orgId, { via: 'admin', userId: by.userId, verifiedAs: by.verifiedAs });
  const inUse = async (holder: Types.ObjectId): Promise<never> => {
    const users = await runInOrg(holder, () => User.countDocuments({}));
    throw new RealmError(
      'realm_in_use',
      `this Microsoft 365 tenant already has its own Threadline organisation${users ? ` with ${users} user${users === 1 ? '' : 's'}` : ''}; it cannot also join yours`,
      { realm: key, users },
    );
  };
  if (!claim.orgId.equals(orgId)) return inUse(claim.orgId);
  if (claim.created) {
    // An organisation keyed by this realm from before realms were recorded: its users sign in there.
    const legacy = await Org.findOne({ key, _id: mongoose.trusted({ $ne: orgId }) }).lean<OrgDoc>();
    if (legacy && (await runInOrg(legacy._id, () => User.countDocuments({}))) > 0) {
      await runInOrg(orgId, () => OrgRealm.deleteOne({ _id: key }));
      return inUse(legacy._id);
    }
    await runInOrg(orgId, () => AuditLog.create({ actorId: by.userId, action: 'realm.attached', target: key, detail: { verifiedAs: by.verifiedAs } }));
  }
  return { orgId, key, tenantId: by.tenantId, verifiedAs: by.verifiedAs, alreadyAttached: !claim.created };
}
