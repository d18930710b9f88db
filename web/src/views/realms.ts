/**
 * "Sign-in realms" on the admin's settings page: which Google Workspace domains and Microsoft 365 tenants sign in
 * to this organisation (`GET /api/org/realms`), and "Add Microsoft 365 tenant", which sends the admin to Microsoft to
 * sign in as an administrator of that tenant (`POST /api/org/realms/microsoft`); the server's callback page says how
 * it went. Self-contained: the settings view only appends `realmsPanel()` for admins.
 */
import { api } from '../api';
import { failure, formatDateTime, h, loading, show } from '../dom';
import type { Realm } from '../types';

const describe = (r: Realm): string => {
  const [, id] = r.key.split(/:(.*)/);
  if (r.key.startsWith('google:')) return `Google Workspace domain ${id}`;
  if (r.key.startsWith('google-user:')) return 'A single Google account';
  return `Microsoft 365 tenant ${id}`;
};

export function realmsPanel(): HTMLElement {
  const list = h('div', {}, loading('Loading sign-in realms…'));
  const hint = h('input', { id: 'realm-admin', type: 'email', placeholder: 'it-admin@your-company.com', autocomplete: 'off' });
  const status = h('span', { class: 'muted', role: 'status' });
  const button = h('button', { class: 'button', type: 'submit' }, 'Add Microsoft 365 tenant');
  const form = h(
    'form',
    { class: 'settings', 'aria-labelledby': 'realms-title' },
    h('h2', { id: 'realms-title' }, 'Sign-in realms'),
    h(
      'p',
      { class: 'muted' },
      'Users of these Google Workspace domains and Microsoft 365 tenants join this organisation when they sign in. A tenant is added by one of its administrators signing in at Microsoft.',
    ),
    list,
    h('div', { class: 'form-row' }, h('label', { for: 'realm-admin' }, 'Tenant administrator (optional)'), hint),
    h('div', { class: 'actions' }, button, status),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    status.textContent = 'Opening Microsoft sign-in…';
    api<{ authorizationUrl: string }>('POST', '/api/org/realms/microsoft', { body: hint.value.trim() ? { loginHint: hint.value.trim() } : {} })
      .then(({ authorizationUrl }) => {
        window.location.assign(authorizationUrl);
      })
      .catch((err: Error) => {
        status.textContent = err.message;
        button.disabled = false;
      });
  });
  api<{ realms: Realm[] }>('GET', '/api/org/realms')
    .then(({ realms }) =>
      show(
        list,
        h(
          'ul',
          { class: 'rows' },
          realms.map((r) =>
            h(
              'li',
              { class: 'row' },
              h('span', {}, describe(r)),
              h(
                'span',
                { class: 'muted' },
                ` · ${r.via === 'admin' ? `added ${formatDateTime(r.attachedAt)}${r.verifiedAs ? ` by ${r.verifiedAs}` : ''}` : 'this organisation’s own'}`,
              ),
            ),
          ),
        ),
      ),
    )
    .catch((err) => show(list, failure(err)));
  return form;
}
