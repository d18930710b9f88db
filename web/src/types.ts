/** The API's JSON shapes the console reads: the shared schemas' types (shared/src/api/), imported as types only. */
export type {
  Address,
  Company,
  Contact,
  Deal,
  Mailbox,
  MailboxState,
  MessageDetail,
  MessageFlags,
  MessagePage,
  MessageSummary,
  Note,
  OrgSettings,
  Provider,
  Realm,
  Role,
  Session,
  SettingsPreview,
  Task,
  UserSettings,
  WhyAnswer,
} from '@threadline/shared/src/api';
import type { UserSettings } from '@threadline/shared/src/api';

/** The three rule lists the organisation's and a user's settings both have. */
export type Exclusions = Pick<UserSettings, 'excludedDomains' | 'excludedAddresses' | 'excludedLabels'>;
export type Visibility = NonNullable<UserSettings['visibility']>;
