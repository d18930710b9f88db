/**
 * Google API error bodies, as https://developers.google.com/gmail/api/guides/handle-errors shows them:
 * `{"error":{"code","message","errors":[{"domain","reason","message",...}],"status"}}`.
 */
import type { Response } from 'express';

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export interface GoogleErrorDetail {
  domain: string;
  reason: string;
  message: string;
  location?: string;
  locationType?: string;
}

export function googleErrorBody(code: number, message: string, detail?: Partial<GoogleErrorDetail>) {
  return {
    error: {
      code,
      message,
      errors: [{ message, domain: 'global', reason: 'badRequest', ...detail }],
      status: STATUS_NAMES[code] ?? 'UNKNOWN',
    },
  };
}

export function sendGoogleError(res: Response, code: number, message: string, detail?: Partial<GoogleErrorDetail>): void {
  res.status(code).json(googleErrorBody(code, message, detail));
}

export const notFound = (res: Response): void => sendGoogleError(res, 404, 'Requested entity was not found.', { reason: 'notFound' });

export const invalidArgument = (res: Response, message: string): void => sendGoogleError(res, 400, message, { reason: 'invalidArgument' });

export const unauthenticated = (res: Response): void =>
  sendGoogleError(
    res,
    401,
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    { reason: 'authError', message: 'Invalid Credentials', location: 'Authorization', locationType: 'header' },
  );

/** The injected 500/503 of the fault injector, in Google's shape. */
export const faultBody = (status: 500 | 503) =>
  status === 503
    ? googleErrorBody(503, 'The service is currently unavailable.', { reason: 'backendError' })
    : googleErrorBody(500, 'Internal error encountered.', { reason: 'backendError' });
