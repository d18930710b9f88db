/// <reference types="office-js" />
/**
 * The Office dialog's page where nested app authentication is not available: MSAL in redirect mode (a dialog is
 * a top-level window, so a redirect is the documented flow there), then the access token to the pane with
 * `messageParent` (https://learn.microsoft.com/office/dev/add-ins/develop/auth-with-office-dialog-api).
 */
import { createStandardPublicClientApplication } from '@azure/msal-browser';
import { readConfig } from './config';
import type { DialogAnswer } from './dialog-client';

const send = (answer: DialogAnswer) => Office.context.ui.messageParent(JSON.stringify(answer));

async function main(): Promise<void> {
  const config = readConfig(document);
  const redirectUri = `${location.origin}${location.pathname}`;
  const pca = await createStandardPublicClientApplication({
    auth: { clientId: config.clientId, authority: config.authority, redirectUri },
    cache: { cacheLocation: 'sessionStorage' },
  });
  const result = await pca.handleRedirectPromise();
  if (result) {
    send({ status: 'ok', accessToken: result.accessToken });
    return;
  }
  await pca.loginRedirect({ scopes: [config.apiScope], prompt: 'select_account' });
}

void Office.onReady(() =>
  main().catch((err: unknown) => {
    send({ status: 'error', message: err instanceof Error ? err.message : 'Sign-in failed.' });
  }),
);
