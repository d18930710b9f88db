/**
 * Identifier formats. Outlook ids are opaque, case-sensitive base64 strings; we keep that look so nothing in the
 * product can get away with parsing them. The regular id encodes the move generation, which is how it changes
 * on every move while the immutable id does not (https://learn.microsoft.com/graph/outlook-immutable-id).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { StoredMessage } from './types';

const rand = (bytes: number): string => randomBytes(bytes).toString('base64url');

const REGULAR_PREFIX = 'AAMkAD';

export const newImmutableId = (): string => `AAkALg${rand(36)}`;
export const newFolderId = (): string => `AQMkAD${rand(30)}`;
export const newAttachmentId = (): string => `AAMkADatt${rand(24)}`;
export const newChangeKey = (): string => `CQAAABYAAA${rand(12)}`;
export const newConversationId = (): string => `AAQkAD${rand(30)}`;
export const newGuid = (): string => randomUUID();
export const newOpaqueToken = (prefix: string): string => `${prefix}${rand(32)}`;

export function regularIdOf(message: Pick<StoredMessage, 'immutableId' | 'moveGeneration'>): string {
  return REGULAR_PREFIX + Buffer.from(`${message.immutableId}.${message.moveGeneration}`).toString('base64url');
}

/** Decodes a regular id into the immutable id and the move generation it was minted for, or null. */
export function parseRegularId(id: string): { immutableId: string; moveGeneration: number } | null {
  if (!id.startsWith(REGULAR_PREFIX)) return null;
  const decoded = Buffer.from(id.slice(REGULAR_PREFIX.length), 'base64url').toString('utf8');
  const dot = decoded.lastIndexOf('.');
  if (dot < 0) return null;
  const moveGeneration = Number(decoded.slice(dot + 1));
  return Number.isInteger(moveGeneration) ? { immutableId: decoded.slice(0, dot), moveGeneration } : null;
}

/**
 * A conversationIndex: a 22-byte header (reserved byte, FILETIME-ish stamp, GUID) for the first message, plus a
 * 5-byte child block per reply ([MS-OXOMSG] PidTagConversationIndex). Only its shape matters to clients.
 */
export function conversationIndex(parentIndex: string | null): string {
  if (parentIndex) return Buffer.concat([Buffer.from(parentIndex, 'base64'), randomBytes(5)]).toString('base64');
  return Buffer.concat([Buffer.from([1]), randomBytes(21)]).toString('base64');
}
