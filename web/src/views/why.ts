/** "Why isn't this email here?": the server's answer in words, for a Message-ID and/or an address. */
import { api, q } from '../api';
import { failure, h, loading, show } from '../dom';
import type { WhyAnswer } from '../types';
import type { View } from './view';

const VERDICT: Record<WhyAnswer['verdict'], string> = {
  synced: 'It is in the CRM.',
  excluded: 'It is excluded by a rule.',
  not_yet_synced: 'It has not been synced (yet).',
};

export const whyView: View = (main, route, signal) => {
  const messageId = h('input', {
    id: 'why-mid',
    type: 'text',
    value: route.query.get('messageId') ?? '',
    placeholder: '<abc@mail.example.com>',
    autocomplete: 'off',
  });
  const email = h('input', { id: 'why-email', type: 'email', value: route.query.get('email') ?? '', placeholder: 'name@example.com', autocomplete: 'off' });
  const answer = h('div', { 'aria-live': 'polite' });
  async function ask(): Promise<void> {
    if (!messageId.value.trim() && !email.value.trim()) {
      show(answer, h('p', { class: 'error-text' }, 'Give a Message-ID or an email address.'));
      return;
    }
    show(answer, loading('Looking…'));
    try {
      const a = await api<WhyAnswer>('GET', `/api/why${q({ messageId: messageId.value.trim(), email: email.value.trim() })}`, { signal });
      show(
        answer,
        h(
          'section',
          { class: 'section why', 'data-verdict': a.verdict },
          h('h2', {}, VERDICT[a.verdict] ?? a.verdict),
          h(
            'ul',
            { class: 'rows' },
            a.reasons.map((r) => h('li', { class: 'row' }, r.message)),
          ),
        ),
      );
    } catch (err) {
      if (!signal.aborted) show(answer, failure(err));
    }
  }
  show(
    main,
    h('h1', {}, 'Why isn’t this email here?'),
    h(
      'form',
      {
        class: 'settings',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void ask();
        },
      },
      h('div', { class: 'form-row' }, h('label', { for: 'why-mid' }, 'Message-ID (from the email’s headers)'), messageId),
      h('div', { class: 'form-row' }, h('label', { for: 'why-email' }, 'or an address on it'), email),
      h('div', { class: 'actions' }, h('button', { class: 'button button-primary', type: 'submit' }, 'Explain')),
    ),
    answer,
  );
  if (messageId.value || email.value) void ask();
};
