/**
 * Every route of the HTTP API with the schemas of what it takes and answers: the one table server/openapi.yaml is
 * checked against (server/src/openapi.test.ts) and the API tests parse answers with (test/helpers/contract.ts).
 * Keys are `METHOD /path` with OpenAPI's `{param}` templates. An answer is a schema (JSON) or the kind of body it
 * is; errors (status 400 and up) are always `ApiErrorBody`.
 */
import { z } from 'zod';
import {
  AuthorizationUrl,
  LoginLink,
  MailboxConnect,
  MailboxList,
  RealmList,
  RealmStart,
  RedeemRequest,
  ResyncAccepted,
  Session,
  SessionRequest,
  UserPatch,
  UserView,
} from './account';
import { AddonContextRequest, AddonContextResponse } from './addon-view';
import {
  CopyState,
  ExcludeMessageRequest,
  ExclusionList,
  ExclusionResult,
  LoggedAgain,
  MessageChoices,
  MessageDetail,
  MessagePage,
  PageQuery,
  SendAccepted,
  SendRequest,
  StateChange,
  ThreadView,
  VisibilityAnswer,
  VisibilityRequest,
} from './messages';
import {
  ErasureRequest,
  ErasureResult,
  OrgSettings,
  SenderAllowed,
  SenderExcluded,
  SenderExclusionRequest,
  SettingsPreview,
  UserSettings,
  WhyAnswer,
} from './privacy';
import { GraphNotifications, PubSubPush } from './push';
import {
  ActivityInputs,
  Company,
  Contact,
  ContactCreate,
  ContactList,
  ContactPatch,
  ContactSearch,
  Deal,
  DealCreate,
  DealList,
  DealListQuery,
  DealMailRequest,
  DealMailResult,
  DealPatch,
  Note,
  NoteList,
  SidebarContext,
  Task,
  TaskList,
} from './records';

/** A body that is not JSON: nothing (204 and the like), plain text, an HTML page, or bytes. */
export type OtherBody = 'empty' | 'text' | 'html' | 'binary';
export type Answer = z.ZodType | OtherBody;

export interface RouteContract {
  /** The JSON request body. */
  body?: z.ZodType;
  /** The query string, when the route reads one. */
  query?: z.ZodType;
  /** Success answers by status. */
  answers: Record<number, Answer>;
}

const Health = z.object({ status: z.literal('ok') });
const Ready = z.object({ status: z.literal('ready') });
const WhyQuery = z.object({ messageId: z.string().max(2000).optional(), email: z.string().max(1000).optional(), date: z.string().max(100).optional() });
const ContextQuery = z.object({ email: z.union([z.string(), z.array(z.string()).min(1).max(50)]) });
const SignOutQuery = z.object({ everywhere: z.enum(['true', 'false']).optional() });
const ValidationQuery = z.object({ validationToken: z.string().optional() });
const CallbackQuery = z.object({ code: z.string().optional(), state: z.string().optional(), error: z.string().optional() });

export const API_ROUTES = {
  'GET /healthz': { answers: { 200: Health } },
  'GET /readyz': { answers: { 200: Ready } },
  'GET /metrics': { answers: { 200: 'text' } },

  'POST /api/session': { body: SessionRequest, answers: { 200: Session } },
  'DELETE /api/session': { query: SignOutQuery, answers: { 204: 'empty' } },
  'POST /api/session/link': { answers: { 200: LoginLink } },
  'POST /api/session/redeem': { body: RedeemRequest, answers: { 200: Session } },
  'PATCH /api/users/{id}': { body: UserPatch, answers: { 200: UserView } },

  'POST /api/mailboxes/connect': { body: MailboxConnect, answers: { 200: AuthorizationUrl } },
  'GET /api/mailboxes': { answers: { 200: MailboxList } },
  'POST /api/mailboxes/{id}/resync': { answers: { 202: ResyncAccepted } },
  'DELETE /api/mailboxes/{id}': { answers: { 204: 'empty' } },

  'POST /api/messages': { body: SendRequest, answers: { 202: SendAccepted } },
  'GET /api/messages/{id}': { answers: { 200: MessageDetail } },
  'PATCH /api/messages/{id}': { body: StateChange, answers: { 200: CopyState } },
  'DELETE /api/messages/{id}': { answers: { 202: CopyState } },
  'GET /api/messages/{id}/attachments/{attachmentId}': { answers: { 200: 'binary' } },
  'GET /api/messages/{id}/choices': { answers: { 200: MessageChoices } },
  'PUT /api/messages/{id}/visibility': { body: VisibilityRequest, answers: { 200: VisibilityAnswer } },
  'GET /api/threads/{id}': { answers: { 200: ThreadView } },

  'GET /api/contacts': { query: ContactSearch, answers: { 200: ContactList } },
  'POST /api/contacts': { body: ContactCreate, answers: { 201: Contact } },
  'GET /api/contacts/{id}': { answers: { 200: Contact } },
  'PATCH /api/contacts/{id}': { body: ContactPatch, answers: { 200: Contact } },
  'DELETE /api/contacts/{id}': { answers: { 204: 'empty' } },
  'GET /api/contacts/{id}/messages': { query: PageQuery, answers: { 200: MessagePage } },
  'GET /api/companies/{id}': { answers: { 200: Company } },
  'GET /api/companies/{id}/messages': { query: PageQuery, answers: { 200: MessagePage } },
  'GET /api/deals': { query: DealListQuery, answers: { 200: DealList } },
  'POST /api/deals': { body: DealCreate, answers: { 201: Deal } },
  'GET /api/deals/{id}': { answers: { 200: Deal } },
  'PATCH /api/deals/{id}': { body: DealPatch, answers: { 200: Deal } },
  'POST /api/deals/{id}/mail': { body: DealMailRequest, answers: { 200: DealMailResult } },
  'GET /api/deals/{id}/messages': { query: PageQuery, answers: { 200: MessagePage } },
  'POST /api/notes': { body: ActivityInputs.noteCreate, answers: { 201: Note } },
  'GET /api/notes': { query: ActivityInputs.byRecord, answers: { 200: NoteList } },
  'POST /api/tasks': { body: ActivityInputs.taskCreate, answers: { 201: Task } },
  'GET /api/tasks': { query: ActivityInputs.taskList, answers: { 200: TaskList } },
  'PATCH /api/tasks/{id}': { body: ActivityInputs.taskPatch, answers: { 200: Task } },

  'GET /api/context': { query: ContextQuery, answers: { 200: SidebarContext } },
  'POST /api/addon/context': { body: AddonContextRequest, answers: { 200: AddonContextResponse } },

  'GET /api/settings': { answers: { 200: OrgSettings } },
  'PUT /api/settings': { body: OrgSettings, answers: { 200: OrgSettings } },
  'POST /api/settings/preview': { body: OrgSettings, answers: { 200: SettingsPreview } },
  'GET /api/org/realms': { answers: { 200: RealmList } },
  'POST /api/org/realms/microsoft': { body: RealmStart, answers: { 200: AuthorizationUrl } },
  'GET /api/me/settings': { answers: { 200: UserSettings } },
  'PUT /api/me/settings': { body: UserSettings, answers: { 200: UserSettings } },
  'POST /api/me/excluded-senders': { body: SenderExclusionRequest, answers: { 202: SenderExcluded } },
  'DELETE /api/me/excluded-senders/{email}': { answers: { 200: SenderAllowed } },
  'POST /api/me/excluded-messages': { body: ExcludeMessageRequest, answers: { 200: ExclusionResult, 201: ExclusionResult } },
  'GET /api/me/excluded-messages': { answers: { 200: ExclusionList } },
  'DELETE /api/me/excluded-messages/{id}': { answers: { 200: LoggedAgain } },
  'GET /api/why': { query: WhyQuery, answers: { 200: WhyAnswer } },
  'POST /api/erasure': { body: ErasureRequest, answers: { 200: ErasureResult } },

  'GET /oauth/{provider}/callback': { query: CallbackQuery, answers: { 200: 'html' } },
  'GET /oauth/microsoft/admin-callback': { query: CallbackQuery, answers: { 200: 'html' } },
  'POST /webhooks/gmail': { body: PubSubPush, answers: { 204: 'empty' } },
  'POST /webhooks/graph': { body: GraphNotifications, query: ValidationQuery, answers: { 200: 'text', 202: 'empty' } },
  'POST /webhooks/graph/lifecycle': { body: GraphNotifications, query: ValidationQuery, answers: { 200: 'text', 202: 'empty' } },
} as const satisfies Record<string, RouteContract>;

export type RouteKey = keyof typeof API_ROUTES;
