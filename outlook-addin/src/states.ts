/** The pane's non-view states: loading, nothing selected, sign-in, and errors, each readable on its own. */
import { h } from './dom';

export function loadingState(): HTMLElement {
  return h(
    'div',
    { class: 'state', 'aria-busy': 'true', 'data-state': 'loading' },
    h('div', { class: 'spinner', 'aria-hidden': 'true' }),
    h('p', { class: 'muted' }, 'Looking up the people on this email…'),
    h('div', { class: 'skeleton', 'aria-hidden': 'true' }),
    h('div', { class: 'skeleton short', 'aria-hidden': 'true' }),
  );
}

export function emptyState(): HTMLElement {
  return h(
    'div',
    { class: 'state', 'data-state': 'empty' },
    h('h2', { class: 'state-title' }, 'No email selected'),
    h('p', { class: 'muted' }, 'Select an email to see its people, deals and conversation history in the CRM.'),
  );
}

export function signInState(message: string, onSignIn: () => void): HTMLElement {
  return h(
    'div',
    { class: 'state', 'data-state': 'signin' },
    h('h2', { class: 'state-title' }, 'Sign in to Threadline'),
    h('p', { class: 'muted' }, message),
    h('button', { type: 'button', class: 'button primary', onclick: onSignIn }, 'Sign in'),
  );
}

export function errorState(message: string, onRetry: () => void): HTMLElement {
  return h(
    'div',
    { class: 'state', 'data-state': 'error', role: 'alert' },
    h('h2', { class: 'state-title' }, 'Something went wrong'),
    h('p', {}, message),
    h('button', { type: 'button', class: 'button', onclick: onRetry }, 'Try again'),
  );
}
