/**
 * Bearer-token check for /v1.0, plus `/users/{id | userPrincipalName}/...` mapped onto `/me/...` when it names the
 * token's own user (a delegated token may not read other mailboxes: 403 ErrorAccessDenied).
 */
import type { RequestHandler } from 'express';
import type { MicrosoftIdentity } from '../oauth/microsoft';
import { setGraphLocals } from './context';
import { sendGraphError } from './odata';
import { GraphError, type MailStore } from './store';

const challenge = {
  'WWW-Authenticate':
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
};

export function graphAuth(identity: MicrosoftIdentity, store: MailStore): RequestHandler {
  return (req, res, next) => {
    const header = req.header('authorization') ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    const deny = (message: string): void => sendGraphError(req, res, new GraphError(401, 'InvalidAuthenticationToken', message), challenge);
    if (!token) return deny('Access token is empty.');
    const info = identity.resolveAccessToken(token);
    if (info === 'expired') return deny('Lifetime validation failed, the token is expired.');
    if (!info) return deny('Access token validation failure. Invalid audience.');
    const mailbox = store.ensure(info.user.address, info.user);
    const users = /^\/users\/([^/]+)(\/.*)?$/i.exec(req.url);
    if (users) {
      const named = decodeURIComponent(users[1] ?? '').replace(/^'|'$/g, '');
      const self = named === mailbox.user.id || named.toLowerCase() === mailbox.user.address.toLowerCase();
      if (!self) {
        return sendGraphError(req, res, new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.'));
      }
      req.url = `/me${users[2] ?? ''}`;
    }
    setGraphLocals(req, res, mailbox, info);
    next();
  };
}
