/** The sidebar card built from a view model: its shape (snapshot), the footer rule, escaping and the limits. */
import type { AddonContextView, AddonParticipant } from './api/addon-view';
import { CARD_LIMITS, limitCard, toHttpCard, truncate, type Card } from './card';
import { contextCard } from './context-card';

const base = 'https://crm.example.com/app';
const jane: AddonParticipant = {
  email: 'jane@globex.com',
  displayName: 'Jane Doe',
  role: 'from',
  teammate: false,
  contact: { id: 'c1', name: 'Jane Doe', title: 'CFO', phone: '', emails: ['jane@globex.com'], openUrl: `${base}/contacts/c1` },
  company: { id: 'co1', name: 'Globex', domains: ['globex.com'], openUrl: `${base}/companies/co1` },
  suggestion: null,
};
const pat: AddonParticipant = {
  email: 'pat@initech.com',
  displayName: 'Pat <script>',
  role: 'cc',
  teammate: false,
  contact: null,
  company: null,
  suggestion: { email: 'pat@initech.com', name: 'Pat <script>', companyName: 'Initech', companyDomain: 'initech.com' },
};
const bob: AddonParticipant = { email: 'bob@acme.test', displayName: 'Bob', role: 'cc', teammate: true, contact: null, company: null, suggestion: null };

function view(participants: AddonParticipant[]): AddonContextView {
  return {
    provider: 'gmail',
    participants,
    participantsOmitted: 0,
    deals: [
      { id: 'd1', name: 'Renewal', stage: 'proposal', amount: 12000, currency: 'USD', closeDate: '2025-06-30T00:00:00.000Z', openUrl: `${base}/deals/d1` },
    ],
    recentMessages: [
      {
        id: 'm1',
        threadId: 't1',
        subject: 'Re: <b>pricing</b>',
        from: { email: 'jane@globex.com', name: 'Jane Doe' },
        date: '2025-03-01T10:00:00.000Z',
        direction: 'inbound',
        snippet: 'Numbers & dates',
        access: 'full',
        openUrl: `${base}/messages/m1`,
      },
      {
        id: 'm2',
        threadId: 't1',
        subject: 'Pricing',
        from: { email: 'bob@acme.test', name: 'Bob' },
        date: '2025-02-01T10:00:00.000Z',
        direction: 'outbound',
        snippet: '',
        access: 'metadata',
        openUrl: `${base}/messages/m2`,
      },
    ],
    threads: [{ id: 't1', subject: 'Re: pricing', lastMessageAt: '2025-03-01T10:00:00.000Z', recentCount: 2, openUrl: `${base}/threads/t1` }],
    thisMessage: { internetMessageId: 'x@globex.com', status: 'not_synced', messageId: null, syncedBy: [], openUrl: null },
    sync: { status: 'not_connected', mailboxes: [], connectUrl: `${base}/settings/mailboxes` },
    links: { crm: base },
  };
}

describe('contextCard', () => {
  it('renders the sidebar (snapshot)', () => {
    expect(contextCard(view([jane, pat, bob]))).toMatchSnapshot();
  });

  it('offers "Create contact" to each unknown person by name, never to a teammate or a contact; a role address only as "anyway"', () => {
    const sue: AddonParticipant = {
      ...pat,
      email: 'sue@initech.com',
      displayName: 'Sue Park',
      role: 'to',
      suggestion: { email: 'sue@initech.com', name: 'Sue Park', companyName: 'Initech', companyDomain: 'initech.com' },
    };
    const ops: AddonParticipant = {
      ...pat,
      email: 'ops@initech.com',
      displayName: 'Ops Team',
      suggestion: { email: 'ops@initech.com', name: 'Ops Team', companyName: 'Initech', companyDomain: 'initech.com', roleAddress: true },
    };
    const card = contextCard(view([jane, bob, pat, sue, ops]));
    const buttons = card.sections
      .flatMap((s) => s.widgets.flatMap((w) => ('buttonList' in w ? w.buttonList.buttons : [])))
      .filter((b) => 'action' in b.onClick && b.onClick.action.function === 'createContact');
    expect(buttons.map((b) => [b.text, 'action' in b.onClick ? b.onClick.action.parameters?.email : ''])).toEqual([
      ['Create contact Pat script', 'pat@initech.com'],
      ['Create contact Sue Park', 'sue@initech.com'],
      ['Add as a contact anyway', 'ops@initech.com'],
    ]);
    expect(card.fixedFooter).toBeUndefined();
    expect(JSON.stringify(card.sections)).toContain('Shared address, not a person');
  });

  it('escapes what comes from email, so a subject or a name never becomes markup', () => {
    // Action parameters are data handed back to the add-on, never rendered: only the sections are checked.
    const json = JSON.stringify(contextCard(view([jane, pat])).sections, (key, value: unknown) => (key === 'parameters' ? undefined : value));
    expect(json).not.toMatch(/<b>|<script>/);
    expect(json).toContain('Re: &lt;b&gt;pricing&lt;/b&gt;');
    expect(json).toContain('Numbers &amp; dates');
  });
});

describe('limitCard', () => {
  const widget = (i: number) => ({ decoratedText: { text: `w${i} ${'&amp;'.repeat(200)}` } });

  it('keeps at most 100 widgets and drops sections left empty', () => {
    const card: Card = {
      header: { title: 't' },
      sections: Array.from({ length: 30 }, (_, s) => ({ header: `s${s}`, widgets: Array.from({ length: 6 }, (_, i) => widget(s * 6 + i)) })),
    };
    const limited = limitCard(card);
    expect(limited.sections.flatMap((s) => s.widgets)).toHaveLength(CARD_LIMITS.widgetsPerCard);
    expect(limited.sections.every((s) => s.widgets.length > 0)).toBe(true);
    expect(limited.sections).toHaveLength(17);
  });

  it('truncates texts by code points without cutting an entity or a surrogate pair', () => {
    const limited = limitCard({ header: { title: '😀'.repeat(500) }, sections: [{ widgets: [widget(1)] }] });
    expect(Array.from(limited.header.title)).toHaveLength(CARD_LIMITS.headerText);
    const text = (limited.sections[0].widgets[0] as { decoratedText: { text: string } }).decoratedText.text;
    expect(text.endsWith('&amp;…')).toBe(true);
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
  });

  it('converts action parameters to the HTTP card schema list', () => {
    const http = toHttpCard(contextCard(view([pat]))) as {
      sections: { widgets: { buttonList?: { buttons: { onClick: { action: { parameters: unknown } } }[] } }[] }[];
    };
    expect(http.sections[0].widgets[1].buttonList!.buttons[0].onClick.action.parameters).toEqual([
      { key: 'email', value: 'pat@initech.com' },
      { key: 'name', value: 'Pat <script>' },
      { key: 'companyName', value: 'Initech' },
    ]);
  });
});
