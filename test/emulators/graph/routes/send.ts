/**
 * Sending: `sendMail` (202, no id, copy saved to Sent Items), draft + `send` (202; the draft moves to Sent Items
 * and keeps its immutable id), `createReply`/`createReplyAll` (a draft in the same conversation, with
 * In-Reply-To/References), `reply`/`replyAll`. Mail sent to another emulated mailbox is delivered to its inbox,
 * so dedup across mailboxes can be tested. (https://learn.microsoft.com/graph/api/user-sendmail,
 * .../message-send, .../message-createreply)
 */
import { Router, type Request, type Response } from 'express';
import { draftFields, newMessageFrom } from '../compose';
import { bodyOf, graphLocals, handle, type RouteDeps } from '../context';
import { mimeOf } from '../mime';
import { badRequest } from '../odata';
import { renderMessage } from '../render';
import { GraphError, type MailStore } from '../store';
import type { Mailbox, Recipient, StoredMessage } from '../types';

const escapeHtml = (s: string): string => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
const same = (a: Recipient, b: Recipient): boolean => a.emailAddress.address.toLowerCase() === b.emailAddress.address.toLowerCase();
const unique = (list: Recipient[]): Recipient[] => list.filter((r, i) => list.findIndex((o) => same(o, r)) === i);

/** Drops the sent item in the inbox of every emulated mailbox it was addressed to. */
async function deliverLocally(store: MailStore, sent: StoredMessage): Promise<void> {
  const raw = await mimeOf(sent);
  const targets = unique([...sent.toRecipients, ...sent.ccRecipients, ...sent.bccRecipients]);
  for (const target of targets) {
    const mailbox = store.get(target.emailAddress.address);
    if (mailbox) await store.insertRaw(mailbox, store.requireFolder(mailbox, 'inbox').id, raw, { receivedDateTime: new Date().toISOString() });
  }
}

export function sendRoutes({ store, baseUrl, log }: RouteDeps): Router {
  const router = Router();
  const owner = (mailbox: Mailbox): Recipient => ({ emailAddress: { name: mailbox.user.displayName, address: mailbox.user.address } });

  /**
   * Turns a draft into a sent item (in Sent Items, or purged when not saved) and delivers it. Graph answers 202
   * before delivery; we deliver first so a test can look in the recipient's inbox as soon as the call returns.
   */
  const dispatch = async (mailbox: Mailbox, draft: StoredMessage, saveToSentItems: boolean, via: string): Promise<void> => {
    if (draft.toRecipients.length + draft.ccRecipients.length + draft.bccRecipients.length === 0) {
      throw new GraphError(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid., Recipient is missing.');
    }
    const now = new Date().toISOString();
    const sentItems = store.requireFolder(mailbox, 'sentitems').id;
    const patch = { isDraft: false, isRead: true, sentDateTime: now, receivedDateTime: now };
    // In transit first, when the store says sending takes time (MailStore.sentCopyDelayMs): the Sent Items copy, with
    // the draft's immutable id, and the recipients' copies appear once it has passed. The answer does not wait.
    const delayMs = saveToSentItems ? store.sentCopyDelayMs : 0;
    if (delayMs > 0) store.hold(mailbox, draft);
    const sent = delayMs > 0 ? draft : store.move(mailbox, draft, sentItems, patch);
    log.add({
      address: mailbox.user.address,
      action: 'send',
      messageId: sent.immutableId,
      internetMessageId: sent.internetMessageId,
      detail: {
        via,
        subject: sent.subject,
        to: sent.toRecipients.map((r) => r.emailAddress.address),
        inReplyTo: sent.inReplyTo,
        conversationId: sent.conversationId,
      },
    });
    if (delayMs > 0) {
      setTimeout(() => void deliverLocally(store, store.release(mailbox, draft, sentItems, patch)).catch(() => undefined), delayMs).unref();
      return;
    }
    await deliverLocally(store, sent);
    if (!saveToSentItems) store.purge(mailbox, sent);
  };

  router.post(
    '/me/sendMail',
    handle(async (req, res) => {
      const { mailbox } = graphLocals(res);
      const body = bodyOf(req);
      if (typeof body.message !== 'object' || body.message === null) throw badRequest("Missing required property 'message'.", 'ErrorInvalidRequest');
      const draft = store.insert(mailbox, store.requireFolder(mailbox, 'drafts').id, newMessageFrom(body.message as Record<string, unknown>, owner(mailbox)));
      await dispatch(mailbox, draft, body.saveToSentItems !== false, 'sendMail');
      res.status(202).end();
    }),
  );

  const found = (req: Request, res: Response): StoredMessage => store.requireMessage(graphLocals(res).mailbox, req.params.messageId as string);

  router.post(
    ['/me/messages/:messageId/send', '/me/mailFolders/:folderId/messages/:messageId/send'],
    handle(async (req, res) => {
      const { mailbox } = graphLocals(res);
      const draft = found(req, res);
      if (!draft.isDraft) throw new GraphError(400, 'ErrorInvalidOperation', 'Only draft items can be sent.');
      await dispatch(mailbox, draft, true, 'draft');
      res.status(202).end();
    }),
  );

  /** The reply draft Outlook would build: RE: subject, quoted original, threading headers. */
  const replyDraft = (mailbox: Mailbox, original: StoredMessage, all: boolean, input: Record<string, unknown>): StoredMessage => {
    const me = owner(mailbox);
    const target = original.replyTo.length ? original.replyTo : original.from ? [original.from] : [];
    const to = all ? unique([...target, ...original.toRecipients]).filter((r) => !same(r, me) || target.some((t) => same(t, r))) : target;
    const cc = all ? unique(original.ccRecipients).filter((r) => !same(r, me) && !to.some((t) => same(t, r))) : [];
    const comment = typeof input.comment === 'string' ? input.comment : '';
    const quoted = original.body.contentType === 'html' ? original.body.content : `<pre>${escapeHtml(original.body.content)}</pre>`;
    const fromLine = original.from ? `${original.from.emailAddress.name} &lt;${original.from.emailAddress.address}&gt;` : '';
    const base = newMessageFrom({}, me);
    const draft = store.insert(mailbox, store.requireFolder(mailbox, 'drafts').id, {
      ...base,
      subject: /^re:/i.test(original.subject) ? original.subject : `RE: ${original.subject}`,
      toRecipients: to,
      ccRecipients: cc,
      body: {
        contentType: 'html',
        content: `<div>${escapeHtml(comment)}</div><hr><div><b>From:</b> ${fromLine}<br><b>Subject:</b> ${escapeHtml(original.subject)}</div>${quoted}`,
      },
      text: `${comment}\n\n${original.text}`,
      inReplyTo: original.internetMessageId,
      references: [...original.references, original.internetMessageId],
    });
    const overrides = typeof input.message === 'object' && input.message !== null ? draftFields(input.message as Record<string, unknown>) : {};
    return Object.keys(overrides).length ? store.update(mailbox, draft, overrides) : draft;
  };

  for (const [path, all] of [
    ['createReply', false],
    ['createReplyAll', true],
  ] as const) {
    router.post(
      [`/me/messages/:messageId/${path}`, `/me/mailFolders/:folderId/messages/:messageId/${path}`],
      handle((req, res) => {
        const { mailbox, prefs } = graphLocals(res);
        const draft = replyDraft(mailbox, found(req, res), all, bodyOf(req));
        log.add({
          address: mailbox.user.address,
          action: 'createReply',
          messageId: draft.immutableId,
          internetMessageId: draft.internetMessageId,
          detail: { all },
        });
        res.status(201).json({
          '@odata.context': `${baseUrl()}/v1.0/$metadata#users('${mailbox.user.id}')/messages/$entity`,
          ...renderMessage(mailbox, draft, { baseUrl: baseUrl(), prefs, select: null }),
        });
      }),
    );
  }
  for (const [path, all] of [
    ['reply', false],
    ['replyAll', true],
  ] as const) {
    router.post(
      [`/me/messages/:messageId/${path}`, `/me/mailFolders/:folderId/messages/:messageId/${path}`],
      handle(async (req, res) => {
        const { mailbox } = graphLocals(res);
        await dispatch(mailbox, replyDraft(mailbox, found(req, res), all, bodyOf(req)), true, path);
        res.status(202).end();
      }),
    );
  }
  return router;
}
