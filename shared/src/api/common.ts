/**
 * The pieces every API shape is built from. The schemas of shared/src/api/ are the one description of the HTTP API's
 * JSON: the server validates requests with them, the tests parse its answers with them, server/openapi.yaml is
 * checked against them (server/src/openapi.test.ts), and the console and the add-ons take their types from them
 * (`z.infer`, type-only imports, so zod never reaches a bundle).
 */
import { z } from 'zod';

/** A MongoDB ObjectId in hex, as the API takes ids; `what` names it in the error (`must be a contact id`). */
export const objectId = (what: string) => z.string().regex(/^[0-9a-f]{24}$/i, `must be a ${what} id`);

/** An instant as the API writes it: ISO 8601 in UTC (`Date.prototype.toISOString`). */
export const instant = z.string();

export const Provider = z.enum(['google', 'microsoft']);
export type Provider = z.infer<typeof Provider>;

export const Role = z.enum(['admin', 'member']);
export type Role = z.infer<typeof Role>;

export const SharingLevel = z.enum(['private', 'metadata', 'full']);
export type SharingLevel = z.infer<typeof SharingLevel>;

export const Direction = z.enum(['inbound', 'outbound', 'internal']);

export const Address = z.object({ email: z.string(), name: z.string() });
export type Address = z.infer<typeof Address>;

export const MessageFlags = z.object({ read: z.boolean(), starred: z.boolean(), archived: z.boolean(), deleted: z.boolean() });
export type MessageFlags = z.infer<typeof MessageFlags>;

/** Every error: `{"error": {"code", "message", "details"?}}` with a fitting status (server/src/http/errors.ts). */
export const ApiErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;
