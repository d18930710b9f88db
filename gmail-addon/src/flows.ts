/**
 * The views behind the entry points: each asks the server, then hands the answer to a pure view builder or,
 * beside an email, takes the server's card as it is.
 */
import type { AddonContextResponse } from '@threadline/shared/src/api/addon-view';
import type { Card } from '@threadline/shared/src/card';
import type { AddonCard } from './addon-card';
import type { Api } from './api';
import { cacheCard, cachedCard } from './context-cache';
import { ApiError } from './errors';
import type { AddonEvent } from './event';
import { readOpenMessage } from './message';
import type { Platform } from './platform';
import { homepageCard, type MailboxItem, type PersonalSettings, settingsCard } from './views';

export interface Ctx {
  p: Platform;
  api: Api;
  userEmail: () => string;
}

/** The sender whose context an open email shows: the key of the per-sender cache. */
export function senderOf(ctx: Ctx, gmail: NonNullable<AddonEvent['gmail']>): string {
  return readOpenMessage(ctx.p, gmail).from.email;
}

export function contextCardFor(ctx: Ctx, gmail: NonNullable<AddonEvent['gmail']>, opts: { useCache: boolean }): Card {
  const message = readOpenMessage(ctx.p, gmail);
  const sender = message.from.email;
  if (opts.useCache) {
    const hit = cachedCard(ctx.p.userCache, sender, gmail.messageId);
    if (hit) return hit;
  }
  const answer = ctx.api.call<AddonContextResponse>('post', '/api/addon/context', { provider: 'gmail', message });
  if (!answer?.card) throw new ApiError(200, 'no_card', 'Threadline sent no card for this email. Is the server up to date?');
  cacheCard(ctx.p.userCache, sender, gmail.messageId, answer.card);
  return answer.card;
}

export function homepageFor(ctx: Ctx): AddonCard {
  const { mailboxes } = ctx.api.call<{ mailboxes: MailboxItem[] }>('get', '/api/mailboxes');
  return homepageCard({ backendUrl: ctx.p.backendUrl, email: ctx.userEmail(), mailboxes });
}

export function settingsFor(ctx: Ctx): AddonCard {
  const settings = ctx.api.call<PersonalSettings>('get', '/api/me/settings');
  return settingsCard({ backendUrl: ctx.p.backendUrl, email: ctx.userEmail(), settings });
}

/** Beside an email: its context; elsewhere: the homepage. What "refresh" and "sign in" show again. */
export function currentView(ctx: Ctx, event: AddonEvent, opts: { useCache: boolean }): AddonCard {
  return event.gmail ? contextCardFor(ctx, event.gmail, opts) : homepageFor(ctx);
}
