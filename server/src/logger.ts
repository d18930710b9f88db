/** Structured JSON logs (pino), with secrets and tokens redacted wherever they may appear. */
import pino, { type Logger } from 'pino';
import { SECRET_SETTINGS } from './config';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code',
  '*.codeVerifier',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.idToken',
  '*.code_verifier',
  // Mail content never goes to the logs, whichever object carries it.
  '*.raw',
  '*.html',
  '*.text',
  '*.contentBase64',
  ...SECRET_SETTINGS.map((name) => `*.${name}`),
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'threadline' } }, destination);
}

export type { Logger };
