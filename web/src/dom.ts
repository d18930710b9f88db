/// <reference lib="dom" />
/** The console's page helpers, on the shared element builder (shared/src/dom.ts: API data never becomes html). */
import { h, type Child } from '@threadline/shared/src/dom';

export { formatAmount, h } from '@threadline/shared/src/dom';

/** Replaces an element's content. */
export function show(el: HTMLElement, ...children: (Child | Child[])[]): void {
  el.replaceChildren(...children.flat().filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

export const loading = (what = 'Loading…') => h('p', { class: 'state', 'aria-busy': 'true' }, what);

export const empty = (title: string, hint?: string) =>
  h('div', { class: 'state' }, h('p', { class: 'state-title' }, title), hint ? h('p', { class: 'muted' }, hint) : null);

/** An error in words with a way to try again. */
export function failure(err: unknown, retry?: () => void): HTMLElement {
  const message = err instanceof Error ? err.message : String(err);
  return h(
    'div',
    { class: 'state error', role: 'alert' },
    h('p', { class: 'state-title' }, 'Something went wrong'),
    h('p', {}, message),
    retry ? h('button', { class: 'button', type: 'button', onclick: retry }, 'Try again') : null,
  );
}

/** A short message announced to screen readers and shown for a few seconds. */
export function toast(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = message;
  el.dataset.kind = kind;
  el.classList.add('visible');
  window.clearTimeout(Number(el.dataset.timer ?? 0));
  el.dataset.timer = String(window.setTimeout(() => el.classList.remove('visible'), 5000));
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "2 minutes ago" for recent times, a date otherwise. */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const ms = now - new Date(iso).getTime();
  if (Number.isNaN(ms)) return '';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 24 * 60) return `${Math.round(minutes / 60)} h ago`;
  return formatDateTime(iso);
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export const person = (a: { email: string; name: string }) => (a.name ? `${a.name} <${a.email}>` : a.email);

/** The product names users know the providers by. */
export const PROVIDER_WORDS: Record<'google' | 'microsoft', string> = { google: 'Gmail', microsoft: 'Outlook' };
