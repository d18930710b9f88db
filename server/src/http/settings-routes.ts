/**
 * Settings (server/openapi.yaml): the organisation's sync and sharing rules (admins only) and each user's own
 * exclusions and visibility, which add to the organisation's. A PUT replaces the whole document, validated
 * strictly; rule values are stored normalised. Changes apply retroactively before the answer
 * (sync/rules/settings-apply.ts); `POST /api/settings/preview` answers what a PUT of the same body would remove, through the same code, writing nothing.
 */
import { Router } from 'express';
import mongoose from 'mongoose';
import { z } from 'zod';
import { MAX_RULES, orgSettingsOf, ruleList as sharedRuleList, userSettingsOf } from '@threadline/shared/src/api/privacy';
import { loadVisibility } from '../crm/visibility';
import { currentOrgId } from '../db/tenant';
import { AuditLog } from '../models/audit';
import { Message, type MessageDoc } from '../models/message';
import { Org, type OrgDoc } from '../models/org';
import { User, type UserDoc } from '../models/user';
import { normaliseAddress, normaliseDomain } from '../mail/address';
import { applyOrgRulesChange, applyUserRulesChange, previewOrgRulesChange } from '../sync/rules/settings-apply';
import { auth, requireAdmin } from './context';
import { notFound } from './errors';

/** Examples in a preview: enough to recognise what a rule reaches, few enough to stay a glance. */
const PREVIEW_SAMPLES = 5;

/** The shared rule list, each value normalised (a value that does not normalise is named) and the list deduplicated. */
const ruleList = (normalise: (s: string) => string | null, what: string) =>
  z
    .array(
      sharedRuleList.element.transform((s, ctx) => {
        const v = normalise(s);
        if (v === null) ctx.addIssue({ code: 'custom', message: `not a valid ${what}` });
        return v ?? '';
      }),
    )
    .max(MAX_RULES)
    .transform((list) => [...new Set(list)]);

/** `@acme.com`, `*.acme.com` and `.acme.com` all mean acme.com and its subdomains, as the privacy evaluator reads them. */
const domain = (s: string) => normaliseDomain(s.trim().replace(/^\*?\.|^@/, ''));
const label = (s: string) => {
  const l = s.trim().replace(/\s+/g, ' ');
  return l.length > 0 && l.length <= 200 ? l : null;
};

const exclusions = {
  excludedDomains: ruleList(domain, 'domain'),
  excludedAddresses: ruleList(normaliseAddress, 'email address'),
  excludedLabels: ruleList(label, 'label'),
};
const orgSettingsBody = orgSettingsOf(exclusions);
const userSettingsBody = userSettingsOf(exclusions);

type OrgSettings = OrgDoc['settings'];
type UserSettings = UserDoc['settings'];

/** Through a hydrated document, so the schema's defaults fill anything an older org lacks. */
export async function orgSettings(): Promise<{ settings: OrgSettings; domains: string[] }> {
  const org = await Org.findById(currentOrgId());
  if (!org) throw notFound('organisation');
  const o = org.toObject() as OrgDoc;
  const s = o.settings;
  return {
    domains: o.domains ?? [],
    settings: {
      sync: {
        historyDays: s.sync.historyDays,
        deletionPolicy: s.sync.deletionPolicy,
        onlyKnownContacts: s.sync.onlyKnownContacts,
        autoCreateContacts: s.sync.autoCreateContacts,
        excludedDomains: [...s.sync.excludedDomains],
        excludedAddresses: [...s.sync.excludedAddresses],
        excludedLabels: [...s.sync.excludedLabels],
        excludeInternal: s.sync.excludeInternal,
      },
      sharing: { defaultVisibility: s.sharing.defaultVisibility },
    },
  };
}

export async function userSettings(userId: UserDoc['_id']): Promise<UserSettings> {
  const user = await User.findById(userId);
  if (!user) throw notFound('user');
  const s = (user.toObject() as UserDoc).settings;
  return {
    excludedDomains: [...s.excludedDomains],
    excludedAddresses: [...s.excludedAddresses],
    excludedLabels: [...s.excludedLabels],
    visibility: s.visibility ?? null,
  };
}

export function settingsRoutes(): Router {
  const router = Router();

  router.get('/api/settings', async (req, res) => {
    requireAdmin(req);
    res.json((await orgSettings()).settings);
  });

  router.put('/api/settings', async (req, res) => {
    const a = requireAdmin(req);
    const next = orgSettingsBody.parse(req.body);
    const { settings: before, domains } = await orgSettings();
    await Org.updateOne({ _id: currentOrgId() }, { $set: { settings: next } });
    const result = await applyOrgRulesChange(before.sync, next.sync, domains);
    // Counts only: the audit trail must not become a copy of what the rules removed.
    await AuditLog.create({ actorId: a.userId, action: 'settings.org.update', detail: result });
    res.json(next);
  });

  // What a PUT of this body would remove, computed as the PUT computes it, with nothing written. Examples are only
  // of mail the admin may see: a teammate's private mail is counted, never shown.
  router.post('/api/settings/preview', async (req, res) => {
    const a = requireAdmin(req);
    const next = orgSettingsBody.parse(req.body);
    const { settings: before, domains } = await orgSettings();
    const policy = await loadVisibility(a.userId);
    const preview = await previewOrgRulesChange(before.sync, next.sync, domains, { samples: PREVIEW_SAMPLES, mayShow: (m) => policy.access(m) !== 'none' });
    const found = await Message.find({ _id: mongoose.trusted({ $in: preview.samples.map((s) => s._id) }) })
      .select({ subject: 1, from: 1, date: 1 })
      .lean<Pick<MessageDoc, '_id' | 'subject' | 'from' | 'date'>[]>();
    const byId = new Map(found.map((m) => [String(m._id), m]));
    const samples = [];
    for (const s of preview.samples) {
      const m = byId.get(String(s._id));
      if (!m) continue; // removed meanwhile
      samples.push({
        id: String(s._id),
        subject: m.subject ?? '',
        from: { email: m.from?.email ?? '', name: m.from?.name ?? '' },
        date: new Date(m.date).toISOString(),
        rule: { kind: s.rule.kind, ...(s.rule.value !== undefined ? { value: s.rule.value } : {}) },
      });
    }
    res.json({ removedMessages: preview.removedMessages, removedCopies: preview.removedCopies, reimport: preview.rescheduled, samples });
  });

  router.get('/api/me/settings', async (req, res) => {
    res.json(await userSettings(auth(req).userId));
  });

  router.put('/api/me/settings', async (req, res) => {
    const a = auth(req);
    const next = userSettingsBody.parse(req.body);
    const before = await userSettings(a.userId);
    await User.updateOne({ _id: a.userId }, { $set: { settings: next } });
    const { domains } = await orgSettings();
    const result = await applyUserRulesChange(a.userId, before, next, domains);
    await AuditLog.create({ actorId: a.userId, action: 'settings.user.update', detail: result });
    res.json(next);
  });

  return router;
}
