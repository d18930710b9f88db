/**
 * CRM search in the pane, as the Gmail add-on's homepage card has it: a contact by name or address
 * (`GET /api/contacts?q=`), each result a link into the CRM. Results replace each other; a newer search aborts the
 * one still running, so a slow answer never overwrites a fresher one.
 */
import type { Contact } from '@threadline/shared/src/api';
import { h, safeHref } from './dom';

/** What a result shows of a contact (shared/src/api/records.ts). */
export type ContactHit = Pick<Contact, 'id' | 'name' | 'email' | 'title'>;

export interface SearchDeps {
  search(query: string, signal: AbortSignal): Promise<ContactHit[]>;
  /** `/app/contacts/{id}` on the CRM's origin. */
  contactUrl(id: string): string;
  describe(err: unknown): string;
}

export function searchPanel(deps: SearchDeps): HTMLElement {
  const input = h('input', { id: 'crm-search', class: 'input', type: 'search', name: 'q', autocomplete: 'off', placeholder: 'Name or email', maxlength: 200 });
  const results = h('div', { class: 'search-results', 'aria-live': 'polite' });
  let running: AbortController | null = null;

  const run = async (query: string) => {
    running?.abort();
    if (!query) return void results.replaceChildren();
    const controller = new AbortController();
    running = controller;
    results.replaceChildren(h('p', { class: 'muted' }, 'Searching…'));
    try {
      const hits = await deps.search(query, controller.signal);
      if (controller.signal.aborted) return;
      results.replaceChildren(
        hits.length === 0
          ? h('p', { class: 'muted' }, `No contact matches “${query}”.`)
          : h(
              'ul',
              { class: 'list', 'aria-label': 'Contacts found' },
              hits.map((c) =>
                h(
                  'li',
                  { class: 'row' },
                  h('a', { class: 'link strong', href: safeHref(deps.contactUrl(c.id)), target: '_blank', rel: 'noopener noreferrer' }, c.name || c.email),
                  h('div', { class: 'person-sub' }, [c.email, c.title].filter(Boolean).join(' · ')),
                ),
              ),
            ),
        h(
          'button',
          {
            type: 'button',
            class: 'button subtle',
            onclick: () => {
              input.value = '';
              void run('');
            },
          },
          'Clear',
        ),
      );
    } catch (err) {
      if (controller.signal.aborted) return;
      results.replaceChildren(h('p', { class: 'error-text' }, deps.describe(err)));
    }
  };

  const form = h(
    'form',
    { class: 'search', role: 'search' },
    h('label', { for: 'crm-search', class: 'label' }, 'Find a contact'),
    h('div', { class: 'search-row' }, input, h('button', { type: 'submit', class: 'button' }, 'Search')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void run(input.value.trim());
  });
  return h('div', { class: 'search-panel' }, form, results);
}
