/**
 * The two failures the add-on tells apart. As in Google's add-on samples, a typed auth error becomes the platform's
 * sign-in prompt (here a sign-in card), anything else a readable error card; neither ever shows a stack trace.
 */

/** Threadline would not accept who we are (no identity token, a refused one, or the user signed out). */
export class AuthError extends Error {
  override name = 'AuthError';
}

/** The server answered with a contract error (`{"error":{"code","message","details"}}`) or something unreadable. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The contract's error body, or a fallback that still says which status came back. */
export function apiErrorFrom(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const e = body.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') return new ApiError(status, e.code, e.message, e.details);
  } catch {
    // Not JSON: a proxy's HTML page, or a truncated answer. Fall through to the status alone.
  }
  return new ApiError(status, `http_${status}`, `Threadline answered with HTTP ${status}.`);
}
