/** Contacts (search and list), a contact, a company, deals (list) and a deal: each record with its timeline. */
import { api, q } from '../api';
import { empty, failure, formatAmount, formatDateTime, h, loading, show } from '../dom';
import type { Company, Contact, Deal } from '../types';
import { activitySection } from './activity';
import { composer } from './compose';
import { timeline } from './timeline';
import type { View } from './view';

function field(label: string, value: string | Node | null): HTMLElement | null {
  return value ? h('div', { class: 'field' }, h('dt', {}, label), h('dd', {}, value)) : null;
}

async function loadInto<T>(main: HTMLElement, signal: AbortSignal, what: string, fetcher: () => Promise<T>, render: (value: T) => void): Promise<void> {
  show(main, loading(`Loading ${what}…`));
  try {
    const value = await fetcher();
    if (!signal.aborted) render(value);
  } catch (err) {
    if (!signal.aborted)
      show(
        main,
        failure(err, () => void loadInto(main, signal, what, fetcher, render)),
      );
  }
}

export const contactsView: View = (main, route, signal) => {
  const search = h('input', {
    type: 'search',
    id: 'contact-search',
    placeholder: 'Name, email or company',
    value: route.query.get('q') ?? '',
    autocomplete: 'off',
  });
  const results = h('div', { 'aria-live': 'polite' });
  show(
    main,
    h('h1', {}, 'Contacts'),
    h(
      'form',
      {
        class: 'search',
        role: 'search',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void run();
        },
      },
      h('label', { for: 'contact-search' }, 'Search contacts'),
      search,
    ),
    results,
  );
  let timer = 0;
  let seq = 0;
  async function run(): Promise<void> {
    const mine = ++seq;
    show(results, loading('Searching…'));
    try {
      const { contacts } = await api<{ contacts: Contact[] }>('GET', `/api/contacts${q({ q: search.value.trim(), limit: 50 })}`, { signal });
      if (mine !== seq) return;
      show(
        results,
        contacts.length
          ? h(
              'ul',
              { class: 'rows' },
              contacts.map((c) =>
                h(
                  'li',
                  { class: 'row' },
                  h('a', { href: `#/contacts/${c.id}` }, c.name || c.email),
                  h('span', { class: 'muted' }, ` · ${c.email}${c.title ? ` · ${c.title}` : ''}`),
                ),
              ),
            )
          : empty(search.value ? 'No contact matches' : 'No contacts yet', 'Contacts are created from the add-ons, or automatically as your policy says.'),
      );
    } catch (err) {
      if (!signal.aborted)
        show(
          results,
          failure(err, () => void run()),
        );
    }
  }
  search.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void run(), 250);
  });
  signal.addEventListener('abort', () => window.clearTimeout(timer));
  void run();
};

function dealRows(deals: Deal[]): HTMLElement {
  return deals.length
    ? h(
        'ul',
        { class: 'rows' },
        deals.map((d) =>
          h(
            'li',
            { class: 'row' },
            h('a', { href: `#/deals/${d.id}` }, d.name),
            h('span', { class: 'muted' }, ` · ${d.stage} · ${d.status}${d.amount !== null ? ` · ${formatAmount(d.amount, d.currency)}` : ''}`),
          ),
        ),
      )
    : h('p', { class: 'muted' }, 'No deals.');
}

export const contactView: View = (main, route, signal) => {
  const id = route.params.id;
  void loadInto(
    main,
    signal,
    'the contact',
    async () => {
      const contact = await api<Contact>('GET', `/api/contacts/${id}`, { signal });
      const [company, deals] = await Promise.all([
        contact.companyId ? api<Company>('GET', `/api/companies/${contact.companyId}`, { signal }).catch(() => null) : null,
        api<{ deals: Deal[] }>('GET', `/api/deals${q({ contactId: id })}`, { signal }).then((r) => r.deals),
      ]);
      return { contact, company, deals };
    },
    ({ contact, company, deals }) => {
      const tl = timeline(`/api/contacts/${id}/messages`, signal);
      const compose = composer({ to: [{ email: contact.email, name: contact.name }], onSent: () => tl.reload() });
      show(
        main,
        h('p', { class: 'crumbs' }, h('a', { href: '#/contacts' }, 'Contacts')),
        h('h1', {}, contact.name || contact.email),
        h(
          'dl',
          { class: 'fields' },
          field('Email', contact.emails.join(', ')),
          field('Title', contact.title),
          field('Phone', contact.phone),
          field('Company', company ? h('a', { href: `#/companies/${company.id}` }, company.name) : null),
        ),
        h(
          'div',
          { class: 'actions' },
          compose.button,
          h('a', { class: 'button', href: `#/why?email=${encodeURIComponent(contact.email)}` }, 'Missing an email?'),
        ),
        compose.panel,
        h('section', { class: 'section' }, h('h2', {}, 'Deals'), dealRows(deals)),
        activitySection('contact', id, signal),
        tl.el,
      );
    },
  );
};

export const companyView: View = (main, route, signal) => {
  const id = route.params.id;
  void loadInto(
    main,
    signal,
    'the company',
    async () => {
      const [company, deals] = await Promise.all([
        api<Company>('GET', `/api/companies/${id}`, { signal }),
        api<{ deals: Deal[] }>('GET', `/api/deals${q({ companyId: id })}`, { signal }).then((r) => r.deals),
      ]);
      return { company, deals };
    },
    ({ company, deals }) => {
      show(
        main,
        h('h1', {}, company.name),
        h('dl', { class: 'fields' }, field('Domains', company.domains.join(', '))),
        h('section', { class: 'section' }, h('h2', {}, 'Deals'), dealRows(deals)),
        activitySection('company', id, signal),
        timeline(`/api/companies/${id}/messages`, signal).el,
      );
    },
  );
};

export const dealsView: View = (main, route, signal) => {
  const status = route.query.get('status') ?? '';
  void loadInto(
    main,
    signal,
    'deals',
    () => api<{ deals: Deal[] }>('GET', `/api/deals${q({ status, limit: 200 })}`, { signal }),
    ({ deals }) => {
      const filter = h(
        'select',
        {
          id: 'deal-status',
          onchange: (ev: Event) => {
            location.hash = `#/deals${q({ status: (ev.target as HTMLSelectElement).value })}`;
          },
        },
        ...['', 'open', 'won', 'lost'].map((s) => h('option', { value: s, selected: s === status }, s || 'All')),
      );
      show(
        main,
        h('h1', {}, 'Deals'),
        h('p', {}, h('label', { for: 'deal-status' }, 'Status '), filter),
        deals.length ? dealRows(deals) : empty('No deals', 'Deals created in the CRM appear here with their mail.'),
      );
    },
  );
};

export const dealView: View = (main, route, signal) => {
  const id = route.params.id;
  void loadInto(
    main,
    signal,
    'the deal',
    () => api<Deal>('GET', `/api/deals/${id}`, { signal }),
    (deal) => {
      show(
        main,
        h('p', { class: 'crumbs' }, h('a', { href: '#/deals' }, 'Deals')),
        h('h1', {}, deal.name),
        h(
          'dl',
          { class: 'fields' },
          field('Stage', deal.stage),
          field('Status', deal.status),
          field('Amount', formatAmount(deal.amount, deal.currency)),
          field('Close date', formatDateTime(deal.closeDate)),
          field('Company', deal.companyId ? h('a', { href: `#/companies/${deal.companyId}` }, 'Open company') : null),
          field(
            'Contacts',
            deal.contactIds.length
              ? h('span', {}, ...deal.contactIds.flatMap((c, i) => [i ? ', ' : '', h('a', { href: `#/contacts/${c}` }, `Contact ${i + 1}`)]))
              : null,
          ),
        ),
        activitySection('deal', id, signal),
        timeline(`/api/deals/${id}/messages`, signal).el,
      );
    },
  );
};
