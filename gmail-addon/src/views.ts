/**
 * The add-on's own small cards, as pure functions of plain data: sign-in, errors, the homepage, contact search
 * results, personal settings and the "why is (or isn't) this email here?" answer. The sidebar beside an email is the server's card (shared/src/context-card.ts); these
 * only cover the moments when there is no email or no session. Texts from the server or the user are escaped.
 */
import { type CardButton, escapeCardText as e, type KnownIcon, truncate } from '@threadline/shared/src/card';
import type { Contact, Mailbox, UserSettings, WhyAnswer } from '@threadline/shared/src/api';
import type { AddonCard, AddonSection } from './addon-card';

export const ACTION_NAMES = {
  createContact: 'createContact',
  whyNotHere: 'whyNotHere',
  neverLogSender: 'neverLogSender',
  allowSender: 'allowSender',
  connectMailbox: 'connectMailbox',
  searchContacts: 'searchContacts',
  signIn: 'signIn',
  refresh: 'refresh',
  excludeSender: 'excludeSender',
  undoExcludeSender: 'undoExcludeSender',
  goBack: 'goBack',
  backToEmail: 'backToEmail',
  attachToDeal: 'attachToDeal',
  newDeal: 'newDeal',
  createDeal: 'createDeal',
  addNote: 'addNote',
  addTask: 'addTask',
  saveNote: 'saveNote',
  saveTask: 'saveTask',
  dontLog: 'dontLog',
  logAgain: 'logAgain',
  setSharing: 'setSharing',
} as const;

/** What these cards read of the API's answers: the shared schemas' types (shared/src/api/), narrowed to what is shown. */
export type MailboxItem = Pick<Mailbox, 'id' | 'provider' | 'address' | 'state' | 'progress' | 'lastError'>;
export type ContactItem = Pick<Contact, 'id' | 'name' | 'email' | 'title'>;
export type PersonalSettings = Pick<UserSettings, 'excludedAddresses' | 'excludedDomains'>;
export type { WhyAnswer };

const STATE_WORDS: Record<string, string> = {
  backfilling: 'Importing past mail',
  live: 'Up to date',
  throttled: 'Slowed down by the provider',
  error: 'Stopped after an error',
  reauth_required: 'Needs you to reconnect',
  paused: 'Paused',
};

const crmLink = (base: string, path = '') => ({ openLink: { url: `${base}/app${path}` } });

export function signInCard(reason: string): AddonCard {
  return {
    header: { title: 'Threadline', subtitle: 'Not signed in' },
    sections: [
      {
        widgets: [
          { textParagraph: { text: `Sign in to see who the people on an email are in the CRM. ${e(reason)}` } },
          { buttonList: { buttons: [{ text: 'Sign in', onClick: { action: { function: ACTION_NAMES.signIn } } }] } },
        ],
      },
    ],
  };
}

/** What went wrong, in words; `retry` offers the same view again (a network blip, a server restart). */
export function errorCard(message: string, retry: boolean): AddonCard {
  const widgets: AddonSection['widgets'] = [{ textParagraph: { text: e(truncate(message, 400)) } }];
  if (retry) widgets.push({ buttonList: { buttons: [{ text: 'Try again', onClick: { action: { function: ACTION_NAMES.refresh } } }] } });
  return { header: { title: 'Threadline', subtitle: 'Something went wrong' }, sections: [{ widgets }] };
}

function mailboxWidgets(mailboxes: MailboxItem[]): AddonSection['widgets'] {
  if (mailboxes.length === 0) {
    return [
      { textParagraph: { text: 'Your mailbox is not connected, so your mail is not synced to the CRM in the background.' } },
      { buttonList: { buttons: [{ text: 'Connect mailbox', onClick: { action: { function: ACTION_NAMES.connectMailbox } } }] } },
    ];
  }
  return mailboxes.slice(0, 10).map((m) => {
    const progress = m.state === 'backfilling' && m.progress.total > 0 ? `${m.progress.imported} of ${m.progress.total} imported` : '';
    return {
      decoratedText: {
        topLabel: e(m.address),
        text: e(STATE_WORDS[m.state] ?? m.state),
        wrapText: true,
        startIcon: { knownIcon: 'EMAIL' as const },
        ...(m.lastError || progress ? { bottomLabel: e(m.lastError ? m.lastError.message : progress) } : {}),
      },
    };
  });
}

export function homepageCard(input: { backendUrl: string; email: string; mailboxes: MailboxItem[] }): AddonCard {
  return {
    header: { title: 'Threadline', subtitle: input.email ? `Signed in as ${input.email}` : 'Signed in' },
    sections: [
      { header: 'Your mailbox sync', widgets: mailboxWidgets(input.mailboxes) },
      {
        header: 'Find a contact',
        widgets: [{ textInput: { name: 'q', label: 'Name or email', onChangeAction: { function: ACTION_NAMES.searchContacts } } }],
      },
      { widgets: [{ buttonList: { buttons: [{ text: 'Open Threadline', onClick: crmLink(input.backendUrl) }] } }] },
      { widgets: [{ textParagraph: { text: 'Open an email to see its people in the CRM.' } }] },
    ],
  };
}

export function searchResultsCard(input: { backendUrl: string; query: string; contacts: ContactItem[] }): AddonCard {
  const widgets: AddonSection['widgets'] =
    input.contacts.length === 0
      ? [{ textParagraph: { text: `No contact matches “${e(truncate(input.query, 100))}”.` } }]
      : input.contacts.slice(0, 20).map((c) => ({
          decoratedText: {
            text: e(c.name || c.email),
            bottomLabel: e([c.email, c.title].filter(Boolean).join(' · ')),
            wrapText: true,
            startIcon: { knownIcon: 'PERSON' as const },
            onClick: crmLink(input.backendUrl, `/contacts/${encodeURIComponent(c.id)}`),
          },
        }));
  return { header: { title: 'Contacts', subtitle: truncate(`Matching “${input.query}”`, 120) }, sections: [{ widgets }] };
}

export function settingsCard(input: { backendUrl: string; email: string; settings: PersonalSettings }): AddonCard {
  const { excludedAddresses, excludedDomains } = input.settings;
  const never: AddonSection['widgets'] =
    excludedAddresses.length === 0 && excludedDomains.length === 0
      ? [{ textParagraph: { text: 'None: Threadline logs your mail by your organisation’s rules.' } }]
      : [
          ...excludedAddresses.slice(0, 40).map((a) => ({
            decoratedText: {
              text: e(a),
              startIcon: { knownIcon: 'EMAIL' as const },
              onClick: { action: { function: ACTION_NAMES.allowSender, parameters: { email: a } } },
              bottomLabel: 'Click to log this sender again',
            },
          })),
          ...excludedDomains.slice(0, 40).map((d) => ({ decoratedText: { text: e(`Anyone at ${d}`), startIcon: { knownIcon: 'MEMBERSHIP' as const } } })),
        ];
  return {
    header: { title: 'Threadline settings', subtitle: input.email ? `Signed in as ${input.email}` : 'Signed in' },
    sections: [
      { header: 'Senders you never log', widgets: never },
      { widgets: [{ buttonList: { buttons: [{ text: 'All settings', onClick: crmLink(input.backendUrl, '/settings') }] } }] },
    ],
  };
}

const VERDICT_WORDS: Record<WhyAnswer['verdict'], string> = {
  synced: 'In the CRM',
  excluded: 'Not synced: a rule excludes it',
  not_yet_synced: 'Not in the CRM yet',
};

const REASON_ICONS: Record<string, KnownIcon> = {
  synced_by: 'EMAIL',
  linked_contact: 'PERSON',
  linked_company: 'MEMBERSHIP',
  linked_deal: 'DOLLAR',
  no_contact: 'PERSON',
  backfilling: 'CLOCK',
  throttled: 'CLOCK',
  arriving_shortly: 'CLOCK',
  older_than_history: 'CLOCK',
};

/** The one thing to do next that the add-on can offer itself, read from the reasons' codes and facts. */
function whyButtons(answer: WhyAnswer, backendUrl: string): CardButton[] {
  const codes = new Set(answer.reasons.map((r) => r.code));
  const rule = answer.reasons.find((r) => r.code === 'excluded_by_rule')?.detail;
  const buttons: CardButton[] = [];
  // The user's own address rule is the one exclusion the add-on can lift in place (the settings card's action).
  if (rule?.scope === 'user' && rule.rule === 'address' && typeof rule.value === 'string') {
    buttons.push({ text: 'Log this sender again', onClick: { action: { function: ACTION_NAMES.allowSender, parameters: { email: rule.value } } } });
  } else if (rule) {
    buttons.push({ text: 'Open settings', onClick: crmLink(backendUrl, '/settings') });
  }
  if (codes.has('no_mailbox') || codes.has('reauth_required')) {
    buttons.push({ text: codes.has('no_mailbox') ? 'Connect mailbox' : 'Reconnect mailbox', onClick: { action: { function: ACTION_NAMES.connectMailbox } } });
  }
  buttons.push({ text: 'Open Threadline', onClick: crmLink(backendUrl) });
  return buttons;
}

/** The server's explanation, one line per reason; the words are the server's, escaped. */
export function whyCard(input: { backendUrl: string; answer: WhyAnswer }): AddonCard {
  const { answer } = input;
  const reasons: AddonSection['widgets'] = answer.reasons.slice(0, 30).map((r) => ({
    decoratedText: { text: e(truncate(r.message, 600)), wrapText: true, ...(REASON_ICONS[r.code] ? { startIcon: { knownIcon: REASON_ICONS[r.code] } } : {}) },
  }));
  if (reasons.length === 0) reasons.push({ textParagraph: { text: 'Threadline gave no reason.' } });
  return {
    header: {
      title: answer.verdict === 'synced' ? 'Why is this email here?' : "Why isn't this email here?",
      subtitle: VERDICT_WORDS[answer.verdict] ?? answer.verdict,
    },
    sections: [{ widgets: reasons }, { widgets: [{ buttonList: { buttons: whyButtons(answer, input.backendUrl) } }] }],
  };
}

export function signedOutCard(): AddonCard {
  return signInCard('You signed out; your cached session and sidebar data were removed from this device.');
}

/** Asked before anything changes: a misclick on "Never log this sender" must cost nothing. */
export function confirmNeverLogCard(email: string): AddonCard {
  return {
    header: { title: 'Never log this sender?', subtitle: truncate(email, 120) },
    sections: [
      {
        widgets: [
          {
            textParagraph: {
              text: `Mail from <b>${e(email)}</b> will no longer be logged to the CRM for you, and their past mail in your mailbox leaves the CRM. You can undo this right after, or later in Settings.`,
            },
          },
          {
            buttonList: {
              buttons: [
                { text: 'Never log', onClick: { action: { function: ACTION_NAMES.excludeSender, parameters: { email } } } },
                { text: 'Cancel', onClick: { action: { function: ACTION_NAMES.goBack } } },
              ],
            },
          },
        ],
      },
    ],
  };
}

/** Done, with "Undo" offered until the server's deadline; the past mail leaves the CRM in the background. */
export function senderExcludedCard(input: { email: string; undoUntil: string }): AddonCard {
  const until = input.undoUntil.slice(11, 16);
  return {
    header: { title: 'Sender not logged any more', subtitle: truncate(input.email, 120) },
    sections: [
      {
        widgets: [
          { textParagraph: { text: `New mail from <b>${e(input.email)}</b> is not logged for you. Their past mail is being removed from the CRM.` } },
          {
            buttonList: {
              buttons: [
                {
                  text: 'Undo',
                  onClick: { action: { function: ACTION_NAMES.undoExcludeSender, parameters: { email: input.email, undoUntil: input.undoUntil } } },
                },
                { text: 'Back to the email', onClick: { action: { function: ACTION_NAMES.backToEmail, parameters: { email: input.email } } } },
              ],
            },
          },
          { textParagraph: { text: `Undo is offered here until ${until} UTC; after that, Settings can log this sender again.` } },
        ],
      },
    ],
  };
}

/** "New deal with these people": the name to give it (the subject, to start with), then one click. */
export function newDealCard(input: { subject: string; contactIds: string; internetMessageId: string }): AddonCard {
  const count = input.contactIds.split(',').filter(Boolean).length;
  return {
    header: { title: 'New deal', subtitle: `With ${count} ${count === 1 ? 'contact' : 'contacts'} on this email` },
    sections: [
      {
        widgets: [
          { textInput: { name: 'dealName', label: 'Deal name', value: truncate(input.subject, 200) } },
          {
            textParagraph: {
              text: input.internetMessageId
                ? 'This email’s thread is attached to the new deal.'
                : 'This email is not in the CRM yet, so only its people are on the deal.',
            },
          },
          {
            buttonList: {
              buttons: [
                {
                  text: 'Create deal',
                  onClick: {
                    action: { function: ACTION_NAMES.createDeal, parameters: { contactIds: input.contactIds, internetMessageId: input.internetMessageId } },
                  },
                },
                { text: 'Cancel', onClick: { action: { function: ACTION_NAMES.goBack } } },
              ],
            },
          },
        ],
      },
    ],
  };
}

export interface RecordParams {
  kind: string;
  id: string;
  name: string;
}

const KIND_WORDS: Record<string, string> = { contact: 'contact', company: 'company', deal: 'deal' };

function activityCard(title: string, record: RecordParams, inputs: AddonSection['widgets'], save: string): AddonCard {
  return {
    header: { title, subtitle: truncate(`On ${KIND_WORDS[record.kind] ?? 'record'} ${record.name}`, 120) },
    sections: [
      {
        widgets: [
          ...inputs,
          {
            buttonList: {
              buttons: [
                { text: 'Save', onClick: { action: { function: save, parameters: { kind: record.kind, id: record.id, name: record.name } } } },
                { text: 'Cancel', onClick: { action: { function: ACTION_NAMES.goBack } } },
              ],
            },
          },
        ],
      },
    ],
  };
}

export function noteCard(record: RecordParams): AddonCard {
  return activityCard('Add a note', record, [{ textInput: { name: 'noteBody', label: 'Note', multiline: true } }], ACTION_NAMES.saveNote);
}

export function taskCard(record: RecordParams): AddonCard {
  return activityCard(
    'Add a task',
    record,
    [
      { textInput: { name: 'taskTitle', label: 'Task' } },
      { textInput: { name: 'taskDue', label: 'Due (YYYY-MM-DD)', hint: 'Optional' } },
      { textInput: { name: 'taskAssignee', label: 'Assignee (email)', hint: 'Empty: you' } },
    ],
    ACTION_NAMES.saveTask,
  );
}
