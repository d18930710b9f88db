/// <reference types="office-js" />
/**
 * Sign-in (docs/sidebars.md "Outlook sign-in"): an access token for the add-in's own API scope, exchanged at
 * `POST /api/session` for a Threadline session. Nested app authentication where the host supports it (no popup for
 * a signed-in Outlook user;
 * https://learn.microsoft.com/office/dev/add-ins/develop/enable-nested-app-authentication-in-your-add-in);
 * elsewhere, or when NAA fails where the host claims it, an Office dialog that runs MSAL on our own page
 * (auth-dialog.ts) and sends the token back.
 */
import { AuthError, createNestablePublicClientApplication, InteractionRequiredAuthError, type IPublicClientApplication } from '@azure/msal-browser';
import type { Session } from '@threadline/shared/src/api';
import { callApi } from './api';
import type { PaneConfig } from './config';
import { openAuthDialog } from './dialog-client';

/** `POST /api/session`'s answer (shared/src/api/account.ts). */
export type { Session };

/** No session and none can be had without the user acting (a click starts the popup or dialog). */
export class SignInRequired extends Error {
  constructor(message = 'Sign in to see this email in the CRM.') {
    super(message);
    this.name = 'SignInRequired';
  }
}

// sessionStorage, not localStorage: the session lives as long as the pane's browsing context, no longer,
// and a pinned pane keeps its context while the user moves between emails.
const STORAGE_KEY = 'threadline.session';
/** Renew a little before expiry so a request never leaves with a token that dies on the way. */
const EXPIRY_MARGIN_MS = 60_000;

export interface Auth {
  /** A live session without user interaction, or SignInRequired. */
  session(): Promise<Session>;
  /** Interactive sign-in; call from a click. */
  signIn(): Promise<Session>;
  /** Forget the session (after the API answered 401). */
  forget(): void;
}

/** MSAL's code when the user closed the sign-in prompt: no fallback then, they chose not to sign in. */
const USER_CANCELLED = 'user_cancelled';

export function createAuth(config: PaneConfig, origin: string): Auth {
  let current: Session | null = load();
  let naa: Promise<IPublicClientApplication> | null = null;
  // A host may advertise NestedAppAuth and still fail it (classic Outlook without the broker, a disabled bridge);
  // after one failure the pane uses the Office dialog for the rest of its life.
  let naaSupported = Office.context.requirements.isSetSupported('NestedAppAuth', '1.1');
  const request = { scopes: [config.apiScope] };

  const nestable = () => (naa ??= createNestablePublicClientApplication({ auth: { clientId: config.clientId, authority: config.authority } }));

  const exchange = async (accessToken: string): Promise<Session> => {
    const session = await callApi<Session>('/api/session', { method: 'POST', body: { provider: 'microsoft', token: accessToken } });
    current = session;
    save(session);
    return session;
  };

  const live = (s: Session | null): s is Session => !!s && Date.parse(s.expiresAt) - EXPIRY_MARGIN_MS > Date.now();

  return {
    async session() {
      if (live(current)) return current;
      // Only NAA can get a token silently; the dialog always needs a click.
      if (!naaSupported) throw new SignInRequired();
      try {
        const result = await (await nestable()).acquireTokenSilent(request);
        return await exchange(result.accessToken);
      } catch (err) {
        // Consent not yet given, no account in the host, a blocked bridge: each needs the user's click, so the
        // pane shows "Sign in" rather than an error (MSAL's InteractionRequiredAuthError is the common case).
        throw new SignInRequired(err instanceof InteractionRequiredAuthError ? undefined : 'Sign in to continue.');
      }
    },
    async signIn() {
      let accessToken: string | null = null;
      if (naaSupported) {
        try {
          accessToken = (await (await nestable()).acquireTokenPopup(request)).accessToken;
        } catch (err) {
          if (err instanceof AuthError && err.errorCode === USER_CANCELLED) throw new SignInRequired('Sign-in was cancelled.');
          // Nested app authentication failed: fall back to the Office dialog flow, which works in every host
          // (https://learn.microsoft.com/office/dev/add-ins/develop/enable-nested-app-authentication-in-your-add-in).
          naaSupported = false;
        }
      }
      return exchange(accessToken ?? (await openAuthDialog(`${origin}/addin/auth-dialog.html`)));
    },
    forget() {
      current = null;
      try {
        sessionStorage.removeItem(STORAGE_KEY);
      } catch {
        /* storage disabled: memory only */
      }
    },
  };
}

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

function save(session: Session): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  } catch {
    /* storage disabled: memory only */
  }
}
