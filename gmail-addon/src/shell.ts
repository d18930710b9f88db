/**
 * The shell between Apps Script and the pure parts: turns results into CardService responses and every
 * failure into a card (a thin shell: entry points, an action table, pure view builders). An AuthError becomes the
 * sign-in card; anything else a readable error card. The stack goes to the execution log (console.error → Cloud
 * Logging), never onto the user's screen.
 */
import type { AddonCard } from './addon-card';
import type { ActionResult } from './actions';
import { AuthError, ApiError } from './errors';
import type { Platform } from './platform';
import { renderCard, renderOpenLink } from './render';
import { errorCard, signInCard } from './views';

type CS = GoogleAppsScript.Card_Service.CardService;

/** The card a failure becomes; the message is the server's (already meant for people) or a generic one. */
export function failureCard(err: unknown): AddonCard {
  if (err instanceof AuthError) return signInCard(err.message);
  if (err instanceof ApiError) {
    if (err.status === 404 || err.status === 400) return errorCard(err.message, false);
    return errorCard(err.message, true);
  }
  return errorCard('Threadline could not be reached or answered unexpectedly. Try again in a moment.', true);
}

export function logFailure(err: unknown): void {
  // AuthError and ApiError are expected outcomes; only the unexpected deserve a stack in the log.
  if (!(err instanceof AuthError) && !(err instanceof ApiError)) console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
}

/** For triggers, which answer with cards. */
export function cardsOrFailure(p: Platform, build: () => AddonCard): GoogleAppsScript.Card_Service.Card[] {
  try {
    return [renderCard(p.cardService, build())];
  } catch (err) {
    logFailure(err);
    return [renderCard(p.cardService, failureCard(err))];
  }
}

export function toActionResponse(cs: CS, result: ActionResult): GoogleAppsScript.Card_Service.ActionResponse {
  const builder = cs.newActionResponseBuilder();
  if ('openLink' in result) return builder.setOpenLink(renderOpenLink(cs, result.openLink)).build();
  if ('update' in result || 'root' in result) {
    const nav =
      'root' in result ? cs.newNavigation().popToRoot().updateCard(renderCard(cs, result.root)) : cs.newNavigation().updateCard(renderCard(cs, result.update));
    builder.setNavigation(nav).setStateChanged(true);
    if (result.notify) builder.setNotification(cs.newNotification().setText(result.notify));
    return builder.build();
  }
  if ('back' in result) {
    builder.setNavigation(cs.newNavigation().popCard());
    if (result.notify) builder.setNotification(cs.newNotification().setText(result.notify));
    return builder.build();
  }
  if ('push' in result) return builder.setNavigation(cs.newNavigation().pushCard(renderCard(cs, result.push))).build();
  return builder.setNotification(cs.newNotification().setText(result.notify)).build();
}

/** For actions, which answer with an ActionResponse: a failure replaces the card in place. */
export function actionOrFailure(p: Platform, run: () => ActionResult): GoogleAppsScript.Card_Service.ActionResponse {
  try {
    return toActionResponse(p.cardService, run());
  } catch (err) {
    logFailure(err);
    return toActionResponse(p.cardService, { update: failureCard(err) });
  }
}

export function universalOrFailure(p: Platform, build: () => AddonCard): GoogleAppsScript.Card_Service.UniversalActionResponse {
  return p.cardService.newUniversalActionResponseBuilder().displayAddOnCards(cardsOrFailure(p, build)).build();
}
