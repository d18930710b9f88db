/// <reference types="google-apps-script" />
/**
 * The bundle's entry: every export becomes a top-level Apps Script function (gmail-addon/build.mjs generates
 * `function name(e) { return Threadline.name(e); }`), because Apps Script only calls top-level functions.
 * Exports: the manifest's triggers and universal actions, and one function per action in the action table.
 * Nothing runs at load time: Apps Script evaluates every file on each call, and globals are read per call.
 */
import { ACTIONS, type ActionName } from './actions';
import { createApi } from './api';
import { backendUrl } from './config';
import { evictContext } from './context-cache';
import { readEvent } from './event';
import { contextCardFor, type Ctx, homepageFor, senderOf, settingsFor } from './flows';
import type { Platform } from './platform';
import { actionOrFailure, cardsOrFailure, universalOrFailure } from './shell';
import { signOut } from './session';
import { signedOutCard } from './views';

function appsScriptPlatform(): Platform {
  return {
    cardService: CardService,
    fetch(url, request) {
      const res = UrlFetchApp.fetch(url, {
        method: request.method,
        headers: request.headers,
        ...(request.payload === undefined ? {} : { payload: request.payload, contentType: 'application/json' }),
        // Read every status ourselves: a 401 means "sign in again", a 409 "already there".
        muteHttpExceptions: true,
        followRedirects: false,
      });
      return { status: res.getResponseCode(), text: res.getContentText() };
    },
    userCache: CacheService.getUserCache(),
    userProperties: PropertiesService.getUserProperties(),
    identityToken: () => ScriptApp.getIdentityToken(),
    openMessage(accessToken, messageId) {
      GmailApp.setCurrentMessageAccessToken(accessToken);
      return GmailApp.getMessageById(messageId);
    },
    backendUrl: backendUrl(),
    nowMs: () => Date.now(),
  };
}

function context(): Ctx {
  const p = appsScriptPlatform();
  return { p, api: createApi(p), userEmail: () => Session.getActiveUser().getEmail() };
}

/** Manifest `homepageTrigger`: the rep's sync status, contact search, a link to connect the mailbox. */
export function onHomepage(_e: unknown): GoogleAppsScript.Card_Service.Card[] {
  const ctx = context();
  return cardsOrFailure(ctx.p, () => homepageFor(ctx));
}

/** Manifest `contextualTriggers` (an open message): the server's card for its people. */
export function onGmailMessageOpen(e: unknown): GoogleAppsScript.Card_Service.Card[] {
  const ctx = context();
  const event = readEvent(e);
  return cardsOrFailure(ctx.p, () => (event.gmail ? contextCardFor(ctx, event.gmail, { useCache: true }) : homepageFor(ctx)));
}

/** Universal action "Settings": the user's own exclusions. */
export function onSettings(_e: unknown): GoogleAppsScript.Card_Service.UniversalActionResponse {
  const ctx = context();
  return universalOrFailure(ctx.p, () => settingsFor(ctx));
}

/** Universal action "Sign out": forget the session and the cached sidebar data; no silent sign-in until asked. */
export function onSignOut(e: unknown): GoogleAppsScript.Card_Service.UniversalActionResponse {
  const ctx = context();
  const event = readEvent(e);
  return universalOrFailure(ctx.p, () => {
    signOut(ctx.p);
    try {
      if (event.gmail) evictContext(ctx.p.userCache, [senderOf(ctx, event.gmail)]);
    } catch {
      // The open email could not be read: its cached card simply expires with its short TTL.
    }
    return signedOutCard();
  });
}

function action(name: ActionName) {
  return (e: unknown): GoogleAppsScript.Card_Service.ActionResponse => {
    const ctx = context();
    return actionOrFailure(ctx.p, () => ACTIONS[name](ctx, readEvent(e)));
  };
}

export const createContact = action('createContact');
export const whyNotHere = action('whyNotHere');
export const neverLogSender = action('neverLogSender');
export const allowSender = action('allowSender');
export const connectMailbox = action('connectMailbox');
export const searchContacts = action('searchContacts');
export const signIn = action('signIn');
export const refresh = action('refresh');
export const excludeSender = action('excludeSender');
export const undoExcludeSender = action('undoExcludeSender');
export const goBack = action('goBack');
export const backToEmail = action('backToEmail');
export const attachToDeal = action('attachToDeal');
export const newDeal = action('newDeal');
export const createDeal = action('createDeal');
export const addNote = action('addNote');
export const addTask = action('addTask');
export const saveNote = action('saveNote');
export const saveTask = action('saveTask');
export const dontLog = action('dontLog');
export const logAgain = action('logAgain');
export const setSharing = action('setSharing');
