/**
 * A recording CardService: every builder records what it was given as plain JSON (`{type, ...fields}`), so a
 * test can snapshot the exact tree the add-on built. Only methods the real service has are accepted (a typo is
 * a TypeError, as in Apps Script), and the few rules the real service enforces at build time are enforced here:
 * a card needs a section, a section a widget, a button text and an action, an action a function name with
 * string parameters. https://developers.google.com/apps-script/reference/card-service
 */

export interface Recorded {
  type: string;
  [field: string]: unknown;
}

const METHODS: Record<string, string[]> = {
  CardBuilder: ['setHeader', 'addSection', 'setFixedFooter', 'setName', 'build'],
  CardHeader: ['setTitle', 'setSubtitle', 'setImageUrl', 'setImageStyle', 'setImageAltText'],
  CardSection: ['setHeader', 'addWidget', 'setCollapsible', 'setNumUncollapsibleWidgets'],
  DecoratedText: [
    'setText',
    'setTopLabel',
    'setBottomLabel',
    'setWrapText',
    'setStartIcon',
    'setOpenLink',
    'setOnClickAction',
    'setOnClickOpenLinkAction',
    'setButton',
  ],
  TextParagraph: ['setText'],
  ButtonSet: ['addButton'],
  TextButton: ['setText', 'setOpenLink', 'setOnClickAction', 'setOnClickOpenLinkAction', 'setTextButtonStyle', 'setDisabled'],
  Divider: [],
  TextInput: ['setFieldName', 'setTitle', 'setHint', 'setValue', 'setOnChangeAction', 'setMultiline'],
  IconImage: ['setIcon', 'setIconUrl', 'setAltText'],
  OpenLink: ['setUrl', 'setOpenAs', 'setOnClose'],
  Action: ['setFunctionName', 'setParameters', 'setLoadIndicator'],
  FixedFooter: ['setPrimaryButton', 'setSecondaryButton'],
  Navigation: ['pushCard', 'updateCard', 'popCard', 'popToRoot', 'popToNamedCard'],
  Notification: ['setText'],
  ActionResponseBuilder: ['setNavigation', 'setNotification', 'setOpenLink', 'setStateChanged', 'build'],
  UniversalActionResponseBuilder: ['displayAddOnCards', 'setOpenLink', 'build'],
};

const BUILT: Record<string, string> = {
  CardBuilder: 'Card',
  ActionResponseBuilder: 'ActionResponse',
  UniversalActionResponseBuilder: 'UniversalActionResponse',
};

export const ICONS = [
  'AIRPLANE',
  'BOOKMARK',
  'BUS',
  'CAR',
  'CLOCK',
  'CONFIRMATION_NUMBER_ICON',
  'DOLLAR',
  'DESCRIPTION',
  'EMAIL',
  'EVENT_PERFORMER',
  'EVENT_SEAT',
  'FLIGHT_ARRIVAL',
  'FLIGHT_DEPARTURE',
  'HOTEL',
  'HOTEL_ROOM_TYPE',
  'INVITE',
  'MAP_PIN',
  'MEMBERSHIP',
  'MULTIPLE_PEOPLE',
  'OFFER',
  'PERSON',
  'PHONE',
  'RESTAURANT_ICON',
  'SHOPPING_CART',
  'STAR',
  'STORE',
  'TICKET',
  'TRAIN',
  'VIDEO_CAMERA',
  'VIDEO_PLAY',
] as const;

const RECORD = Symbol('record');

function unwrap(value: unknown): unknown {
  if (value && typeof value === 'object' && RECORD in value) return (value as { [RECORD]: Recorded })[RECORD];
  if (Array.isArray(value)) return value.map(unwrap);
  return value;
}

function check(condition: unknown, message: string): void {
  if (!condition) throw new Error(`CardService: ${message}`);
}

/** What build() checks; the real service throws on the same mistakes. */
function validate(r: Recorded): void {
  if (r.type === 'Card') {
    check(Array.isArray(r.sections) && r.sections.length > 0, 'a card needs at least one section');
    for (const s of r.sections as Recorded[]) check(Array.isArray(s.widgets) && s.widgets.length > 0, 'a card section needs at least one widget');
  }
}

function deepValidate(value: unknown): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) return value.forEach(deepValidate);
  const r = value as Recorded;
  if (r.type === 'TextButton')
    check(
      typeof r.text === 'string' && r.text !== '' && (r.openLink || r.onClickAction || r.onClickOpenLinkAction),
      'a text button needs a text and an action',
    );
  if (r.type === 'DecoratedText' || r.type === 'TextParagraph') check(typeof r.text === 'string' && r.text !== '', `${r.type} needs a text`);
  if (r.type === 'Action') check(typeof r.functionName === 'string' && r.functionName !== '', 'an action needs a function name');
  if (r.type === 'OpenLink') check(typeof r.url === 'string' && r.url !== '', 'an open link needs a url');
  if (r.type === 'FixedFooter') check(r.primaryButton, 'a fixed footer needs a primary button');
  for (const v of Object.values(r)) deepValidate(v);
}

function builder(type: string): unknown {
  const record: Recorded = { type };
  const allowed = new Set(METHODS[type]);
  const target = { [RECORD]: record } as Record<string | symbol, unknown>;
  const proxy: unknown = new Proxy(target, {
    get(_t, prop) {
      if (prop === RECORD) return record;
      if (typeof prop !== 'string' || !allowed.has(prop)) {
        if (prop === 'then' || typeof prop === 'symbol') return undefined; // not a thenable; inspection
        throw new TypeError(`${type}.${String(prop)} is not a function`);
      }
      return (...args: unknown[]) => {
        if (prop === 'build') {
          const built = { ...record, type: BUILT[type] ?? type };
          validate(built);
          deepValidate(built);
          return { [RECORD]: built };
        }
        const value = args.length === 1 ? unwrap(args[0]) : args.map(unwrap);
        if (prop === 'setParameters') {
          const params = value as Record<string, unknown>;
          check(params && Object.values(params).every((v) => typeof v === 'string'), 'action parameters must be strings');
        }
        if (prop === 'setOpenAs') check(value === 'FULL_SIZE' || value === 'OVERLAY', `unknown OpenAs ${String(value)}`);
        if (prop === 'setOnClose') check(value === 'NOTHING' || value === 'RELOAD', `unknown OnClose ${String(value)}`);
        if (prop === 'setIcon') check(typeof value === 'string' && (ICONS as readonly string[]).includes(value), `unknown icon ${String(value)}`);
        const field = prop === 'displayAddOnCards' ? 'cards' : prop.replace(/^(set|add)/, '');
        const key = field[0].toLowerCase() + field.slice(1);
        if (prop.startsWith('add')) {
          const list = `${key}s`;
          record[list] = [...((record[list] as unknown[]) ?? []), value];
        } else if (type === 'Navigation') {
          record.steps = [...((record.steps as unknown[]) ?? []), { [prop]: value }];
        } else {
          record[key] = value;
        }
        return proxy;
      };
    },
  });
  return proxy;
}

export function createCardService() {
  const service: Record<string, unknown> = {
    Icon: Object.fromEntries(ICONS.map((i) => [i, i])),
    OpenAs: { FULL_SIZE: 'FULL_SIZE', OVERLAY: 'OVERLAY' },
    OnClose: { NOTHING: 'NOTHING', RELOAD: 'RELOAD' },
    LoadIndicator: { NONE: 'NONE', SPINNER: 'SPINNER' },
  };
  for (const type of Object.keys(METHODS)) service[`new${type}`] = () => builder(type);
  return service;
}

/** The recorded JSON of anything the fake built (a card, an action response…), or the value itself. */
export function recorded<T = Recorded>(value: unknown): T {
  return unwrap(value) as T;
}
