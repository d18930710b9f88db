/**
 * Policy: the organisation's sync and sharing rules (admins, `/api/settings`) and everyone's own exclusions and
 * visibility (`/api/me/settings`), which add to the organisation's. A save replaces the whole document, as the
 * API's PUT does; tightened rules remove matching stored mail before the server answers, so the page says so, and
 * while an admin edits, the server's preview of that removal (`POST /api/settings/preview`) is shown before saving.
 */
import { api, ApiFailure } from '../api';
import { failure, formatDateTime, h, loading, show, toast } from '../dom';
import { currentSession } from '../session';
import type { Exclusions, OrgSettings, SettingsPreview, UserSettings, Visibility } from '../types';
import type { View } from './view';
import { exclusionsPanel } from './choices';
import { realmsPanel } from './realms';

const lines = (el: HTMLTextAreaElement) =>
  el.value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

function listField(id: string, label: string, values: string[], hint: string): { row: HTMLElement; input: HTMLTextAreaElement } {
  const input = h('textarea', { id, rows: 3, 'aria-describedby': `${id}-hint`, spellcheck: 'false' }, values.join('\n'));
  return { input, row: h('div', { class: 'form-row' }, h('label', { for: id }, label), input, h('p', { class: 'hint', id: `${id}-hint` }, hint)) };
}

function select<T extends string>(id: string, label: string, options: [T, string][], value: T): { row: HTMLElement; input: HTMLSelectElement } {
  const input = h('select', { id }, ...options.map(([v, words]) => h('option', { value: v, selected: v === value }, words)));
  return { input, row: h('div', { class: 'form-row' }, h('label', { for: id }, label), input) };
}

function checkbox(id: string, label: string, checked: boolean): { row: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { id, type: 'checkbox', checked });
  return { input, row: h('div', { class: 'form-row checkbox' }, input, h('label', { for: id }, label)) };
}

function exclusionFields(prefix: string, s: Exclusions) {
  const domains = listField(
    `${prefix}-domains`,
    'Excluded domains',
    s.excludedDomains,
    'One per line, e.g. lawfirm.com: mail with anyone there (subdomains included) is never synced.',
  );
  const addresses = listField(`${prefix}-addresses`, 'Excluded addresses', s.excludedAddresses, 'One per line.');
  const labels = listField(`${prefix}-labels`, 'Excluded labels or folders', s.excludedLabels, 'One per line, e.g. Personal.');
  return {
    rows: [domains.row, addresses.row, labels.row],
    read: (): Exclusions => ({ excludedDomains: lines(domains.input), excludedAddresses: lines(addresses.input), excludedLabels: lines(labels.input) }),
  };
}

const VISIBILITY: [Visibility, string][] = [
  ['full', 'Full: teammates see the mail'],
  ['metadata', 'Metadata: who and when, no content'],
  ['private', 'Private: only me'],
];

function saveButton(form: HTMLFormElement, label: string, save: () => Promise<void>): HTMLElement {
  const status = h('span', { class: 'muted', role: 'status' });
  const button = h('button', { class: 'button button-primary', type: 'submit' }, label);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    status.textContent = 'Saving… (mail the new rules exclude is removed now)';
    try {
      await save();
      status.textContent = 'Saved.';
      toast('Settings saved');
    } catch (err) {
      status.textContent = err instanceof Error ? err.message : String(err);
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'actions' }, button, status);
}

const PREVIEW_DELAY_MS = 400;

const RULE_WORDS: Record<SettingsPreview['samples'][number]['rule']['kind'], string> = {
  domain: 'domain',
  address: 'address',
  label: 'label',
  internal: 'internal mail',
  onlyKnownContacts: 'no known contact on it',
};
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The server's answer in words; everything shown here was computed by the server. */
function previewContent(p: SettingsPreview): (HTMLElement | string)[] {
  const out: (HTMLElement | string)[] = [];
  if (p.removedMessages === 0 && p.removedCopies === 0) out.push(h('p', {}, 'Saving these rules removes no stored mail.'));
  else {
    const copies = p.removedCopies ? ` and ${plural(p.removedCopies, 'labelled mailbox copy', 'labelled mailbox copies')}` : '';
    out.push(
      h(
        'p',
        { class: 'preview-count' },
        `Saving would remove ${plural(p.removedMessages, 'stored message', 'stored messages')}${copies}${p.samples.length ? ', e.g.:' : '.'}`,
      ),
    );
    if (p.samples.length) {
      out.push(
        h(
          'ul',
          { class: 'rows preview-samples' },
          p.samples.map((m) =>
            h(
              'li',
              { class: 'row' },
              h('a', { href: `#/messages/${m.id}` }, m.subject || '(no subject)'),
              h(
                'span',
                { class: 'muted' },
                ` · ${m.from.email} · ${formatDateTime(m.date)} · ${RULE_WORDS[m.rule.kind]}${m.rule.value ? ` ${m.rule.value}` : ''}`,
              ),
            ),
          ),
        ),
      );
    }
  }
  if (p.reimport) out.push(h('p', {}, 'A rule is lifted: saving re-imports the mail it kept out.'));
  return out;
}

/**
 * Asks the server what saving the form now would remove, a moment after each edit; a stale answer is dropped.
 * Nothing is shown while the form equals what is stored (nothing to save), and a save puts the panel away.
 */
function previewPanel(read: () => OrgSettings): { el: HTMLElement; schedule(): void; saved(): void } {
  const body = h('div', {});
  const el = h(
    'section',
    { class: 'preview', 'aria-labelledby': 'preview-title', 'aria-live': 'polite', hidden: true },
    h('h3', { id: 'preview-title' }, 'Before you save'),
    body,
  );
  let timer = 0;
  let pending: AbortController | null = null;
  let stored = JSON.stringify(read());
  let previewed: string | null = null;
  const stop = () => {
    window.clearTimeout(timer);
    pending?.abort();
    pending = null;
  };
  async function run(): Promise<void> {
    const settings = read();
    const key = JSON.stringify(settings);
    if (key === stored) {
      stop();
      previewed = null;
      el.hidden = true;
      return;
    }
    if (key === previewed) return;
    pending?.abort();
    const mine = (pending = new AbortController());
    previewed = key;
    el.hidden = false;
    el.setAttribute('aria-busy', 'true');
    try {
      const p = await api<SettingsPreview>('POST', '/api/settings/preview', { body: settings, signal: mine.signal });
      if (mine.signal.aborted) return;
      show(body, previewContent(p));
    } catch (err) {
      if (mine.signal.aborted) return;
      previewed = null; // asked again at the next edit
      show(
        body,
        h(
          'p',
          { class: 'error-text' },
          err instanceof ApiFailure && err.status === 400 ? `Cannot preview yet: ${err.message}` : 'The preview is not available right now.',
        ),
      );
    } finally {
      if (pending === mine) el.removeAttribute('aria-busy');
    }
  }
  return {
    el,
    schedule: () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void run(), PREVIEW_DELAY_MS);
    },
    saved: () => {
      stop();
      stored = JSON.stringify(read());
      previewed = null;
      el.hidden = true;
    },
  };
}

function orgForm(s: OrgSettings): HTMLElement {
  const history = h('input', { id: 'org-history', type: 'number', min: 0, max: 3650, value: s.sync.historyDays });
  const deletion = select(
    'org-deletion',
    'When mail is deleted in a mailbox',
    [
      ['mirror', 'Remove it from the CRM too'],
      ['preserve', 'Keep it in the CRM'],
    ],
    s.sync.deletionPolicy,
  );
  const known = checkbox('org-known', 'Only sync mail with known contacts', s.sync.onlyKnownContacts);
  const auto = select(
    'org-auto',
    'Create contacts automatically',
    [
      ['none', 'Never'],
      ['outbound', 'For people we write to'],
      ['all', 'For everyone we exchange mail with'],
    ],
    s.sync.autoCreateContacts,
  );
  const internal = checkbox('org-internal', 'Exclude internal mail (only colleagues on it)', s.sync.excludeInternal);
  const excl = exclusionFields('org', s.sync);
  const sharing = select('org-visibility', 'Default visibility of synced mail', VISIBILITY, s.sharing.defaultVisibility);
  const form = h(
    'form',
    { class: 'settings', 'aria-labelledby': 'org-title' },
    h('h2', { id: 'org-title' }, 'Organisation policy'),
    h('div', { class: 'form-row' }, h('label', { for: 'org-history' }, 'Import history (days)'), history),
    deletion.row,
    known.row,
    auto.row,
    internal.row,
    ...excl.rows,
    sharing.row,
  );
  const read = (): OrgSettings => ({
    sync: {
      historyDays: Number(history.value),
      deletionPolicy: deletion.input.value as OrgSettings['sync']['deletionPolicy'],
      onlyKnownContacts: known.input.checked,
      autoCreateContacts: auto.input.value as OrgSettings['sync']['autoCreateContacts'],
      excludeInternal: internal.input.checked,
      ...excl.read(),
    },
    sharing: { defaultVisibility: sharing.input.value as Visibility },
  });
  const preview = previewPanel(read);
  form.addEventListener('input', preview.schedule);
  form.addEventListener('change', preview.schedule);
  form.append(
    preview.el,
    saveButton(form, 'Save policy', async () => {
      await api('PUT', '/api/settings', { body: read() });
      preview.saved();
    }),
  );
  return form;
}

function userForm(s: UserSettings): HTMLElement {
  const excl = exclusionFields('me', s);
  const vis = select<Visibility | ''>(
    'me-visibility',
    'Who sees mail from my mailboxes',
    [['', 'As the organisation decides'], ...VISIBILITY],
    s.visibility ?? '',
  );
  const form = h(
    'form',
    { class: 'settings', 'aria-labelledby': 'me-title' },
    h('h2', { id: 'me-title' }, 'My settings'),
    h('p', { class: 'muted' }, 'These add to the organisation’s rules.'),
    ...excl.rows,
    vis.row,
  );
  form.append(
    saveButton(form, 'Save my settings', async () => {
      await api('PUT', '/api/me/settings', { body: { ...excl.read(), visibility: (vis.input.value || null) as Visibility | null } });
    }),
  );
  return form;
}

export const settingsView: View = (main, _route, signal) => {
  const admin = currentSession()?.user.role === 'admin';
  show(main, loading('Loading settings…'));
  Promise.all([admin ? api<OrgSettings>('GET', '/api/settings', { signal }) : null, api<UserSettings>('GET', '/api/me/settings', { signal })])
    .then(([org, me]) => {
      if (!signal.aborted)
        show(
          main,
          h('h1', {}, 'Settings'),
          org ? orgForm(org) : h('p', { class: 'muted' }, 'Your admin sets the organisation’s policy.'),
          org ? realmsPanel() : null,
          userForm(me),
          exclusionsPanel(),
        );
    })
    .catch((err) => {
      if (!signal.aborted)
        show(
          main,
          failure(err, () => settingsView(main, _route, signal)),
        );
    });
};
