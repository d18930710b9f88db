import { contextCard } from '@threadline/shared/src/context-card';
import type { AddonContextView } from '@threadline/shared/src/api/addon-view';
import { recorded } from '../../test/fakes/apps-script/card-service';
import type { AddonCard } from './addon-card';
import { renderCard } from './render';
import { testPlatform } from './testing';

const cs = () => testPlatform(() => ({ status: 500, text: '' })).p.cardService;

const view: AddonContextView = {
  provider: 'gmail',
  participants: [
    {
      email: 'jane@acme.com',
      displayName: 'Jane Roe',
      role: 'from',
      teammate: false,
      contact: null,
      company: null,
      suggestion: { email: 'jane@acme.com', name: 'Jane Roe', companyName: 'Acme', companyDomain: 'acme.com' },
    },
  ],
  participantsOmitted: 0,
  deals: [],
  recentMessages: [
    {
      id: 'm1',
      threadId: 't1',
      subject: 'Pricing <b>now</b>',
      from: { email: 'jane@acme.com', name: 'Jane Roe' },
      date: '2026-02-01T09:00:00.000Z',
      direction: 'inbound',
      snippet: 'Hello',
      access: 'full',
      openUrl: 'https://crm.example.com/app/messages/m1',
    },
  ],
  threads: [],
  thisMessage: { internetMessageId: 'a@b', status: 'not_synced', messageId: null, syncedBy: [], openUrl: null },
  sync: { status: 'not_connected', mailboxes: [], connectUrl: 'https://crm.example.com/app/settings/mailboxes' },
  links: { crm: 'https://crm.example.com/app' },
};

describe('renderCard', () => {
  it('maps the server’s context card onto CardService, the person’s own "Create contact" included', () => {
    const card = recorded<{ sections: { widgets: Record<string, unknown>[] }[] }>(renderCard(cs(), contextCard(view)));
    expect(card).toMatchSnapshot();
    expect(card.sections[0].widgets[1]).toEqual({
      type: 'ButtonSet',
      buttons: [
        {
          type: 'TextButton',
          text: 'Create contact Jane Roe',
          onClickAction: { type: 'Action', functionName: 'createContact', parameters: { email: 'jane@acme.com', name: 'Jane Roe', companyName: 'Acme' } },
        },
      ],
    });
  });

  it('renders every widget kind and leaves out what the JSON leaves out', () => {
    const json: AddonCard = {
      header: { title: 'T' },
      sections: [
        {
          header: 'S',
          collapsible: true,
          uncollapsibleWidgetsCount: 1,
          widgets: [
            { decoratedText: { text: 'plain' } },
            { textParagraph: { text: 'p' } },
            { divider: {} },
            { buttonList: { buttons: [{ text: 'Go', onClick: { openLink: { url: 'https://x.test/a' } } }] } },
            { textInput: { name: 'q', label: 'Search', onChangeAction: { function: 'searchContacts' } } },
          ],
        },
      ],
    };
    const card = recorded<{ header: unknown; sections: { widgets: unknown[]; collapsible: boolean; numUncollapsibleWidgets: number }[] }>(
      renderCard(cs(), json),
    );
    expect(card.header).toEqual({ type: 'CardHeader', title: 'T' });
    expect(card.sections[0]).toMatchObject({ header: 'S', collapsible: true, numUncollapsibleWidgets: 1 });
    expect(card.sections[0].widgets).toEqual([
      { type: 'DecoratedText', text: 'plain' },
      { type: 'TextParagraph', text: 'p' },
      { type: 'Divider' },
      { type: 'ButtonSet', buttons: [{ type: 'TextButton', text: 'Go', openLink: { type: 'OpenLink', url: 'https://x.test/a' } }] },
      { type: 'TextInput', fieldName: 'q', title: 'Search', onChangeAction: { type: 'Action', functionName: 'searchContacts' } },
    ]);
  });

  it('fails as CardService does on a card it would refuse', () => {
    expect(() => renderCard(cs(), { header: { title: 'T' }, sections: [{ widgets: [] }] })).toThrow(/at least one widget/);
  });
});
