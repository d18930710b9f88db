/**
 * Sign-in. The product's way in is a one-time link from an add-on (`#login=…`, handled in main.ts). Development
 * servers also offer pasting an identity token (a Google ID token or a Microsoft access token for our API, as the
 * add-ons send): the server checks it exactly as it checks theirs, so this form grants nothing the API does not.
 */
import { h, show } from '../dom';
import { signInWithIdentityToken } from '../session';
import type { Provider } from '../types';
import type { View } from './view';

export function consoleConfig(): { devSignIn: boolean } {
  try {
    const parsed = JSON.parse(document.getElementById('console-config')?.textContent ?? '{}') as { devSignIn?: unknown };
    return { devSignIn: parsed.devSignIn === true };
  } catch {
    return { devSignIn: false };
  }
}

export const signInView: View = (main, route) => {
  const problem = route.query.get('problem');
  const parts: HTMLElement[] = [
    h('h1', {}, 'Sign in to Threadline'),
    h('p', {}, 'Open Threadline from the Gmail or Outlook add-on (“Open in Threadline”): it signs you in here with a one-time link.'),
  ];
  if (problem) parts.push(h('p', { class: 'error-text', role: 'alert' }, problem));
  if (consoleConfig().devSignIn) {
    const provider = h(
      'select',
      { id: 'dev-provider' },
      h('option', { value: 'google' }, 'Google ID token'),
      h('option', { value: 'microsoft' }, 'Microsoft access token'),
    );
    const token = h('textarea', { id: 'dev-token', rows: 4, spellcheck: 'false', required: true });
    const status = h('p', { role: 'status', class: 'muted' });
    const form = h(
      'form',
      { class: 'settings', 'aria-labelledby': 'dev-title' },
      h('h2', { id: 'dev-title' }, 'Development sign-in'),
      h('p', { class: 'muted' }, 'Not offered in production. Paste an identity token, e.g. one the emulators mint.'),
      h('div', { class: 'form-row' }, h('label', { for: 'dev-provider' }, 'Token kind'), provider),
      h('div', { class: 'form-row' }, h('label', { for: 'dev-token' }, 'Token'), token),
      h('div', { class: 'actions' }, h('button', { class: 'button button-primary', type: 'submit' }, 'Sign in')),
      status,
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      status.textContent = 'Signing in…';
      try {
        await signInWithIdentityToken(provider.value as Provider, token.value.trim());
        location.hash = '#/mailboxes';
      } catch (err) {
        status.textContent = err instanceof Error ? err.message : String(err);
      }
    });
    parts.push(form);
  }
  show(main, ...parts);
};
