/**
 * The error shape of the API (server/openapi.yaml, `Error`), everywhere: `{"error": {"code", "message", "details"?}}`
 * with a fitting status. Routes throw `ApiError`s (or zod errors, translated here); anything else is a real fault
 * (500).
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import mongoose from 'mongoose';
import { AuthError } from '../auth/identity';
import { TenantScopeError } from '../db/tenant';
import { CursorError } from '../views/message-listing';

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly details?: unknown,
    public readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'invalid_request', message, details);
export const unauthorized = (message = 'sign in first') => new ApiError(401, 'unauthorized', message);
export const forbidden = (message = 'you are not allowed to do this') => new ApiError(403, 'forbidden', message);
export const notFound = (what = 'resource') => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);

export function fromZod(err: ZodError): ApiError {
  const first = err.issues[0];
  const field = first?.path.join('.') || '(body)';
  return badRequest(`${field}: ${first?.message ?? 'invalid'}`, {
    issues: err.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
  });
}

export const notFoundRoute: RequestHandler = (req) => {
  throw new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`);
};

type BodyParserError = Error & { type?: string; status?: number };

export function errorHandler(log: { error(obj: object, msg: string): void }): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const apiError = toApiError(err);
    if (apiError.status >= 500) log.error({ err, reqId: req.id }, 'request failed');
    for (const [k, v] of Object.entries(apiError.headers)) res.setHeader(k, v);
    const body: { code: string; message: string; details?: unknown } = { code: apiError.code, message: apiError.message };
    if (apiError.details !== undefined) body.details = apiError.details;
    res.status(apiError.status).json({ error: body });
  };
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ZodError) return fromZod(err);
  if (err instanceof CursorError) return badRequest(err.message);
  if (err instanceof AuthError) return new ApiError(err.status, err.status === 503 ? 'unavailable' : 'unauthorized', err.message);
  const bodyErr = err as BodyParserError;
  if (bodyErr?.type === 'entity.parse.failed') return badRequest('the body is not valid JSON');
  if (bodyErr?.type === 'entity.too.large') return new ApiError(413, 'too_large', 'the body is too large');
  if (bodyErr?.type === 'encoding.unsupported' || bodyErr?.type === 'charset.unsupported') return new ApiError(415, 'unsupported_media_type', bodyErr.message);
  if (err instanceof mongoose.Error.CastError) return badRequest(`${err.path}: invalid value`);
  if (err instanceof mongoose.Error.ValidationError) {
    const field = Object.keys(err.errors)[0];
    return badRequest(`${field}: ${err.errors[field]?.message ?? 'invalid'}`);
  }
  if (err instanceof TenantScopeError) return new ApiError(500, 'internal', 'internal error');
  return new ApiError(500, 'internal', 'internal error');
}
