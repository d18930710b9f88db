/**
 * Deterministic, realistic mail for the provider emulators, tests, the demo and the benchmarks.
 *
 * A mailbox is planned first (who writes to whom, threads, dates, labels) from a seeded PRNG, synchronously, and
 * only then turned into RFC 5322 bytes. The MIME comes from nodemailer's composer, never from string templates of
 * our own; but composing every message is ~1,500 messages/s (its streams hop through setImmediate per node),
 * too slow for the 100,000-message benchmarks. So the composer builds each distinct *body* once — a bounded set:
 * bodies are drawn from fixed pools per sender — and each message gets its own top-level headers encoded and
 * folded by nodemailer's MimeNode header encoder, the same calls the composer makes for a root node.
 * Same seed and options, same bytes: boundaries are derived from the body, ids and dates from the PRNG.
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import MailComposer, { type MailComposerAttachment, type MailComposerOptions } from 'nodemailer/lib/mail-composer';
import MimeNode, { type MimeNodeHeaderValue } from 'nodemailer/lib/mime-node';
import { foldLines } from 'nodemailer/lib/mime-funcs';

export interface Identity {
  email: string;
  name: string;
}
export interface CustomerOrg {
  domain: string;
  people: Identity[];
}
export type Direction = 'inbound' | 'outbound' | 'internal';
/** Graph well-known folder names the emulator files a message under. */
export type GraphFolder = 'inbox' | 'sentitems' | 'archive';
/** What the thread is about, which decides who takes part and what it looks like. */
export type ThreadKind = 'customer' | 'internal' | 'personal' | 'newsletter';

export interface GeneratedMessage {
  raw: Buffer;
  /** With angle brackets, as in the header and as mailparser returns it. */
  messageId: string;
  /** Stable per thread, 16 hex digits like a Gmail thread id. */
  threadKey: string;
  date: Date;
  /** Bare lower-case addresses. */
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  direction: Direction;
  /** Gmail system labels: INBOX, SENT, UNREAD, STARRED, IMPORTANT, CATEGORY_*. */
  labelIds: string[];
  folder: GraphFolder;
  isRead: boolean;
  hasAttachments: boolean;
  inReplyTo?: string;
  references: string[];
  kind: ThreadKind;
}

export interface GenerateMailboxOptions {
  owner: Identity;
  count: number;
  seed?: number;
  startDate?: Date;
  endDate?: Date;
  /** People at the owner's company; generated on the owner's domain when not given. */
  colleagues?: Identity[];
  /** Companies the owner sells to; a fixed set of invented companies when not given. */
  customers?: CustomerOrg[];
  /** Share of person-to-person messages that carry attachments (0–1), 0.12 by default. */
  attachmentRate?: number;
}

export interface GenerateMessageOptions {
  owner: Identity;
  /** Defaults to the date's milliseconds, so the same inputs give the same message. */
  seed?: number;
  /** Defaults to now. Whole seconds only: the Date header cannot carry more. */
  date?: Date;
  /** Defaults to a generated customer contact (so the message is inbound). */
  from?: Identity;
  /** Defaults to the owner, or to a generated customer contact when the owner sends. */
  to?: Identity[];
  cc?: Identity[];
  subject?: string;
  /** Makes the message a reply in that message's thread (In-Reply-To, References, "Re:" subject). */
  inReplyTo?: Pick<GeneratedMessage, 'messageId' | 'references' | 'subject' | 'threadKey'>;
  attachment?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness (Math.random would make every run different)

/** mulberry32: tiny, fast, and good enough to pick names and dates. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** Picks a key by weight, e.g. [['a', 3], ['b', 1]]. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let r = this.next() * choices.reduce((sum, [, w]) => sum + w, 0);
    for (const [value, weight] of choices) if ((r -= weight) < 0) return value;
    return choices[choices.length - 1][0];
  }
  hex(digits: number): string {
    let out = '';
    while (out.length < digits) out += this.int(0x10000).toString(16).padStart(4, '0');
    return out.slice(0, digits);
  }
}

/** FNV-1a over the text, mixed into the seed: two owners with the same seed still get different mail. */
function mixSeed(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// People

const FIRST_NAMES = [
  'Alex',
  'Maria',
  'James',
  'Priya',
  'Chen',
  'Fatima',
  'Lucas',
  'Sofia',
  'Kwame',
  'Hannah',
  'Mateo',
  'Aisha',
  'Oliver',
  'Yuki',
  'Noah',
  'Elena',
  'Omar',
  'Grace',
  'Lars',
  'Ines',
  'Ravi',
  'Chloé',
  'José',
  'Zoë',
  'Jürgen',
  'Søren',
  'Amélie',
  'Björn',
  'Łukasz',
  'Siobhán',
];
const LAST_NAMES = [
  'Okafor',
  'García',
  'Smith',
  'Nguyen',
  'Müller',
  'Rossi',
  'Kowalski',
  'Tanaka',
  'Haddad',
  'Johansson',
  'Dubois',
  'Patel',
  "O'Brien",
  'Fernández',
  'Weiß',
  'Andersen',
  'Kim',
  'Moreau',
  'Novak',
  'Silva',
];
const FREE_MAIL_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'hotmail.co.uk', 'icloud.com', 'gmx.de', 'proton.me'];
const DEFAULT_CUSTOMER_DOMAINS = [
  'globex-logistics.com',
  'initech-systems.com',
  'brightlane-health.org',
  'nordlicht-maschinenbau.de',
  'boulangerie-dupre.fr',
  'bluepeak-analytics.com',
  'meridian-foods.co.uk',
  'kestrel-aviation.com',
  'paloma-retail.es',
  'vinterbyte.se',
];

/** Folds accents away for the local part (josé → jose); names keep them, which is what exercises RFC 2047. */
function asciiSlug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ł/g, 'l')
    .replace(/ß/g, 'ss')
    .replace(/ø/g, 'o')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

/**
 * n distinct people: first.last@domain, or on free-mail domains (personal senders) when no domain is given.
 */
export function makeIdentities(seed: number, n: number, domain?: string): Identity[] {
  const rng = new Rng(mixSeed(seed, domain ?? '*'));
  const seen = new Set<string>();
  const people: Identity[] = [];
  while (people.length < n) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const host = domain ?? rng.pick(FREE_MAIL_DOMAINS);
    let local = domain ? `${asciiSlug(first)}.${asciiSlug(last)}` : `${asciiSlug(first)}${asciiSlug(last)}${rng.int(100)}`;
    for (let k = 2; seen.has(`${local}@${host}`); k++) local = `${local.replace(/\d+$/, '')}${k}`;
    seen.add(`${local}@${host}`);
    people.push({ name: `${first} ${last}`, email: `${local}@${host}` });
  }
  return people;
}

interface BulkSender extends Identity {
  category: 'CATEGORY_UPDATES' | 'CATEGORY_PROMOTIONS' | 'CATEGORY_SOCIAL' | 'CATEGORY_FORUMS';
  topics: readonly string[];
}
const BULK_SENDERS: readonly BulkSender[] = [
  {
    name: 'Ledgerly',
    email: 'no-reply@updates.ledgerly.io',
    category: 'CATEGORY_UPDATES',
    topics: ['Your invoice is ready', 'Payment received — thank you', 'Your monthly statement'],
  },
  {
    name: 'Shipwise Alerts',
    email: 'alerts@notify.shipwise.example.com',
    category: 'CATEGORY_UPDATES',
    topics: ['Shipment delivered', 'Your parcel is on its way', 'Delivery exception'],
  },
  {
    name: 'Warehouse Weekly',
    email: 'newsletter@warehouseweekly.example.org',
    category: 'CATEGORY_PROMOTIONS',
    topics: ['5 automation trends this week', 'Webinar: cold-chain robotics', 'Early-bird tickets for LogiMAT'],
  },
  {
    name: 'Cloudly',
    email: 'noreply@mail.cloudly.example.net',
    category: 'CATEGORY_PROMOTIONS',
    topics: ['20% off annual plans', 'New: shared inboxes', 'Your trial ends in 3 days'],
  },
  {
    name: 'LinkUp',
    email: 'notifications@linkup.example.com',
    category: 'CATEGORY_SOCIAL',
    topics: ['You appeared in 12 searches', 'New connection request', 'Congratulate your colleague'],
  },
  {
    name: 'Robotics Forum',
    email: 'digest@forum.robotics-community.example.org',
    category: 'CATEGORY_FORUMS',
    topics: ['Daily digest: 8 new topics', 'Reply to your post on gripper calibration'],
  },
];

function titleCase(domain: string): string {
  return domain
    .split('.')[0]
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}
const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase();
const firstName = (who: Identity): string => who.name.split(' ')[0];

// ---------------------------------------------------------------------------------------------------------------
// Content pools. Bodies are chosen by index, never free-form, so the set of distinct bodies (each built once by
// the composer) stays small however many messages are generated.

const SUBJECTS: Record<Exclude<ThreadKind, 'newsletter'>, readonly string[]> = {
  customer: [
    'Quote {Q}',
    'Pilot scope and timeline',
    'Renewal for {Y}',
    'Invoice {INV} – question',
    'Onboarding call next week',
    'Site visit',
    'Updated pricing',
    'Contract redlines',
    'Support ticket #{T}',
    'Follow-up from our meeting',
    'Delivery schedule',
    'Angebot für {C}',
    'Réunion de suivi – {C}',
    'Presupuesto revisado',
    'Integration questions',
    'Next steps 🚀',
  ],
  internal: [
    'Pipeline review',
    'Can you cover the {C} call?',
    'Q{q} forecast',
    'Discount approval for {C}',
    'Lunch?',
    'Notes from the {C} meeting',
    'Travel booking',
    'Deck for Thursday',
  ],
  personal: ['Dinner on Saturday?', 'Photos from the trip', 'Happy birthday!', 'Book club – next pick', 'Are you free this weekend?', 'Café next week ☕'],
};
const GREETINGS = ['Hi,', 'Hello,', 'Hi there,', 'Good morning,', 'Hey,'];
const PARAGRAPHS: Record<ThreadKind, readonly string[]> = {
  customer: [
    'Following up on our call: could you send over the updated quote with the extended warranty included?',
    'Thanks for the proposal. Our operations team has a few questions about installation downtime.',
    'We would like to start the pilot in the first week of next month if the hardware is available.',
    'Attached is what we discussed. Let me know if anything is missing before it goes to procurement.',
    'Our finance team approved the budget, so we can move ahead with the purchase order.',
    'Could we move Thursday’s meeting to Friday morning? Something came up on our side.',
    'The robots have been running all shifts this week without incidents — great work from your team.',
    'We are comparing two offers at the moment; the main difference is the support terms.',
    'Please find the signed contract in the portal. Invoices should go to accounts payable.',
    'Is there any flexibility on the price if we commit to three years?',
  ],
  internal: [
    'Can you take a look at the deal notes before the pipeline review?',
    'I have updated the forecast; two deals slipped to next quarter.',
    'The customer asked for a 12% discount. I think 8% is the most we should offer.',
    'Could you cover my call on Wednesday? I will be travelling.',
    'Slides are in the shared drive, feedback welcome before noon.',
    'Quick heads-up: legal wants to review the new contract template.',
  ],
  personal: [
    'Are you around this weekend? We were thinking of dinner on Saturday.',
    'Here are a few photos from the trip, the rest are on the shared album.',
    'Long time no see! Coffee next week?',
    'Happy birthday! Hope you have a great day.',
    'We picked the next book for the club, it is a short one this time.',
  ],
  newsletter: [
    'Here is what happened this month, and what is coming next.',
    'Your summary for the week is ready.',
    'We have made a few changes we think you will like.',
  ],
};
const REPLIES = [
  'Thanks, that works for us.',
  'Sounds good — I will confirm by end of day.',
  'Thanks for the quick reply. One more question: does that include shipping?',
  'Great, let’s go with that.',
  'I have checked with the team and we are aligned.',
  'Understood. I will send the revised version tomorrow.',
  'Perfect, see you then.',
  'Could you clarify the second point? I am not sure I follow.',
];
const SIGN_OFFS = ['Best,', 'Thanks,', 'Kind regards,', 'Cheers,', 'Best regards,'];

interface AttachmentSpec {
  filename: string;
  contentType: string;
  content: () => Buffer;
}
let pdfCache: Buffer | undefined;
let pngCache: Buffer | undefined;
const pdfBytes = (): Buffer => (pdfCache ??= tinyPdf('Quote'));
const pngBytes = (): Buffer => (pngCache ??= tinyPng());
const ATTACHMENTS: readonly AttachmentSpec[] = [
  { filename: 'quote.pdf', contentType: 'application/pdf', content: pdfBytes },
  { filename: 'Proposal_v2.pdf', contentType: 'application/pdf', content: pdfBytes },
  { filename: 'Präsentation.pdf', contentType: 'application/pdf', content: pdfBytes },
  { filename: 'site-photo.png', contentType: 'image/png', content: pngBytes },
  { filename: 'pricing.csv', contentType: 'text/csv', content: () => Buffer.from('sku,qty,unit_price_eur\r\nPR-40,2,4250\r\nSVC-1Y,2,900\r\n') },
  { filename: 'meeting notes.txt', contentType: 'text/plain', content: () => Buffer.from('Agenda\r\n- pilot scope\r\n- timeline\r\n') },
];
const LOGO_CID_DOMAIN = 'threadline.invalid';

/** A one-page PDF with a correct xref table, so attachment viewers and type sniffers accept it. */
function tinyPdf(text: string): Buffer {
  const stream = `BT /F1 18 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = objects.map((body, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  return Buffer.from(`${out}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`, 'latin1');
}

/** A 4×4 RGB PNG (valid CRCs and zlib stream). */
function tinyPng(): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(typed.length + 8);
    out.writeUInt32BE(data.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc32(typed) >>> 0, typed.length + 4);
    return out;
  };
  const header = Buffer.from([0, 0, 0, 4, 0, 0, 0, 4, 8, 2, 0, 0, 0]);
  const row = [0, ...Array.from({ length: 4 }, () => [0x2b, 0x6c, 0xb0]).flat()];
  const pixels = Buffer.from(Array.from({ length: 4 }, () => row).flat());
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', header), chunk('IDAT', deflateSync(pixels)), chunk('IEND', Buffer.alloc(0))]);
}

// ---------------------------------------------------------------------------------------------------------------
// Charsets the composer cannot produce from a string: we hand it the encoded bytes with the charset label.

type Charset = 'utf-8' | 'iso-8859-1' | 'windows-1252';
const CP1252_EXTRA: Record<string, number> = {
  '€': 0x80,
  '‚': 0x82,
  '„': 0x84,
  '…': 0x85,
  '‘': 0x91,
  '’': 0x92,
  '“': 0x93,
  '”': 0x94,
  '•': 0x95,
  '–': 0x96,
  '—': 0x97,
  '™': 0x99,
  œ: 0x9c,
  Œ: 0x8c,
  Š: 0x8a,
  š: 0x9a,
  Ž: 0x8e,
  ž: 0x9e,
  Ÿ: 0x9f,
};

/** The text in a single-byte charset, or null when a character has no byte there (then the body stays UTF-8). */
function encodeSingleByte(text: string, charset: Exclude<Charset, 'utf-8'>): Buffer | null {
  const out = Buffer.alloc(text.length);
  let i = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    const extra = charset === 'windows-1252' ? CP1252_EXTRA[ch] : undefined;
    // 0x80–0x9F are C1 controls in ISO-8859-1 and (re)assigned printable characters in Windows-1252.
    if (extra !== undefined) out[i++] = extra;
    else if (code < 0x80 || (code >= 0xa0 && code <= 0xff)) out[i++] = code;
    else return null;
  }
  return out.subarray(0, i);
}

// ---------------------------------------------------------------------------------------------------------------
// Plans: every decision about a message, nothing built yet

type Shape = 'text' | 'alternative' | 'mixed' | 'related';
interface BodySpec {
  shape: Shape;
  charset: Charset;
  text: string;
  /** Indices into ATTACHMENTS. */
  attachments: number[];
  /** Newsletter sender whose logo the html shows inline (multipart/related). */
  logoOf?: string;
}
interface Plan {
  kind: ThreadKind;
  threadKey: string;
  messageId: string;
  inReplyTo?: string;
  references: string[];
  subject: string;
  date: Date;
  from: Identity;
  to: Identity[];
  cc: Identity[];
  body: BodySpec;
  listUnsubscribe?: string;
  owner: Identity;
  isRead: boolean;
  archived: boolean;
  starred: boolean;
  important: boolean;
  category: string;
}

function fillSubject(template: string, rng: Rng, company: string, year: number): string {
  return template
    .replace('{Q}', `Q-${year}-${1000 + rng.int(9000)}`)
    .replace('{INV}', `INV-${10000 + rng.int(90000)}`)
    .replace('{T}', String(40000 + rng.int(10000)))
    .replace('{Y}', String(year + 1))
    .replace('{q}', String(1 + rng.int(4)))
    .replace('{C}', company);
}

/** Message-ID the way the sender's system would mint it: unique part @ the sender's mail host. */
function mintMessageId(rng: Rng, sender: Identity, date: Date): string {
  const domain = domainOf(sender.email);
  const host = domain === 'gmail.com' ? 'mail.gmail.com' : domain;
  return `<${date.getTime().toString(36)}.${rng.hex(16)}@${host}>`;
}

/**
 * A sender's mail varies only within a few fixed wordings per kind (greeting, paragraphs, sign-off and attachments
 * all follow from the variant), and a sender always uses the same mail client (plain text or html, one charset).
 * That keeps the distinct bodies — each one a composer build — to about a thousand however many messages are
 * generated, where free choice per message would make nearly every body distinct and cost a build each.
 */
const BODY_VARIANTS = 6;
const ATTACHMENT_SETS: readonly number[][] = [[0], [1], [2], [3], [4], [5], [0, 3], [1, 4], [2, 5]];

function bodyText(kind: ThreadKind, isReply: boolean, sender: Identity, pick: Rng): string {
  const lines = [pick.pick(GREETINGS), '', isReply ? pick.pick(REPLIES) : pick.pick(PARAGRAPHS[kind])];
  if (!isReply && pick.chance(0.4)) lines.push('', pick.pick(PARAGRAPHS[kind]));
  lines.push('', pick.pick(SIGN_OFFS), firstName(sender));
  const domain = domainOf(sender.email);
  if (kind !== 'personal' && !FREE_MAIL_DOMAINS.includes(domain)) lines.push('', '--', `${sender.name} | ${titleCase(domain)}`);
  return `${lines.join('\n')}\n`;
}

function chooseBody(rng: Rng, kind: ThreadKind, isReply: boolean, sender: Identity, owner: Identity, attachmentRate: number): BodySpec {
  const email = sender.email.toLowerCase();
  const variant = rng.int(BODY_VARIANTS);
  const text = bodyText(kind, isReply, sender, new Rng(mixSeed(variant, `${email}|${kind}|${isReply}`)));
  const client = new Rng(mixSeed(0, email));
  if (kind !== 'newsletter' && rng.chance(attachmentRate)) {
    return { shape: 'mixed', charset: 'utf-8', text, attachments: ATTACHMENT_SETS[(variant + client.int(ATTACHMENT_SETS.length)) % ATTACHMENT_SETS.length] };
  }
  // Continental European senders on old clients still send single-byte charsets; the owner's mail is modern.
  const legacy = email !== owner.email.toLowerCase() && /\.(de|fr|es|se)$/.test(domainOf(email)) && client.chance(0.4);
  if (legacy) return { shape: 'text', charset: client.chance(0.5) ? 'iso-8859-1' : 'windows-1252', text, attachments: [] };
  return { shape: client.chance(0.3) ? 'text' : 'alternative', charset: 'utf-8', text, attachments: [] };
}

interface Cast {
  owner: Identity;
  colleagues: Identity[];
  customers: CustomerOrg[];
  personal: Identity[];
}

function buildCast(opts: GenerateMailboxOptions, seed: number): Cast {
  const ownerDomain = domainOf(opts.owner.email);
  const ownerEmail = opts.owner.email.toLowerCase();
  const colleagues = (opts.colleagues ?? makeIdentities(seed, 7, ownerDomain)).filter((p) => p.email.toLowerCase() !== ownerEmail);
  const customers = opts.customers ?? DEFAULT_CUSTOMER_DOMAINS.map((domain, i) => ({ domain, people: makeIdentities(seed + i + 1, 1 + (i % 4), domain) }));
  return { owner: opts.owner, colleagues, customers: customers.filter((c) => c.people.length > 0), personal: makeIdentities(seed + 99, 8) };
}

interface ThreadFrame {
  kind: ThreadKind;
  /** The two sides that alternate; side 0 writes first. */
  sides: [Identity, Identity];
  /** Copied on every message of the thread. */
  cc: Identity[];
  subject: string;
  bulk?: BulkSender;
}

function frameThread(rng: Rng, kind: ThreadKind, cast: Cast, year: number): ThreadFrame {
  const { owner } = cast;
  const ownerFirst = rng.chance(0.45);
  const order = (other: Identity): [Identity, Identity] => (ownerFirst ? [owner, other] : [other, owner]);
  if (kind === 'newsletter') {
    const bulk = rng.pick(BULK_SENDERS);
    return { kind, sides: [bulk, owner], cc: [], subject: rng.pick(bulk.topics), bulk };
  }
  if (kind === 'internal' && cast.colleagues.length > 0) {
    const colleague = rng.pick(cast.colleagues);
    const others = cast.colleagues.filter((c) => c !== colleague);
    const cc = others.length > 0 && rng.chance(0.3) ? [rng.pick(others)] : [];
    return { kind, sides: order(colleague), cc, subject: fillSubject(rng.pick(SUBJECTS.internal), rng, titleCase(rng.pick(cast.customers).domain), year) };
  }
  if (kind === 'personal') {
    return { kind, sides: order(rng.pick(cast.personal)), cc: [], subject: rng.pick(SUBJECTS.personal) };
  }
  const org = rng.pick(cast.customers);
  const contact = rng.pick(org.people);
  const cc: Identity[] = [];
  const morePeople = org.people.filter((p) => p !== contact);
  if (morePeople.length > 0 && rng.chance(0.25)) cc.push(rng.pick(morePeople));
  if (cast.colleagues.length > 0 && rng.chance(0.2)) cc.push(rng.pick(cast.colleagues));
  return { kind: 'customer', sides: order(contact), cc, subject: fillSubject(rng.pick(SUBJECTS.customer), rng, titleCase(org.domain), year) };
}

/** Gaps between the messages of a thread: minutes to a few days, like real back-and-forth. */
function threadDates(rng: Rng, n: number, startMs: number, endMs: number): Date[] {
  const gaps = Array.from({ length: n - 1 }, () => Math.round(Math.exp(Math.log(600) + rng.next() * (Math.log(3 * 86400) - Math.log(600)))) * 1000);
  const span = gaps.reduce((a, b) => a + b, 0);
  const range = Math.max(0, endMs - startMs);
  const scale = span > range ? range / span : 1;
  const first = startMs + rng.next() * Math.max(0, range - span * scale);
  const dates: number[] = [Math.ceil(first / 1000) * 1000];
  // Whole seconds (the Date header's resolution) and strictly ascending, so thread order is unambiguous.
  for (const gap of gaps) dates.push(Math.max(dates[dates.length - 1] + 1000, Math.floor((dates[dates.length - 1] + gap * scale) / 1000) * 1000));
  return dates.map((ms) => new Date(ms));
}

const THREAD_LENGTHS = [
  [1, 35],
  [2, 25],
  [3, 17],
  [4, 11],
  [5, 7],
  [6, 5],
] as const;
const THREAD_KINDS = [
  ['customer', 55],
  ['internal', 15],
  ['personal', 8],
  ['newsletter', 22],
] as const;
const DAY_MS = 86_400_000;
const DEFAULT_END = new Date('2025-06-30T17:00:00Z');

function planMailbox(opts: GenerateMailboxOptions): Plan[] {
  const seed = mixSeed(opts.seed ?? 1, opts.owner.email.toLowerCase());
  const rng = new Rng(seed);
  const cast = buildCast(opts, seed);
  const endMs = (opts.endDate ?? DEFAULT_END).getTime();
  const startMs = (opts.startDate ?? new Date(endMs - 365 * DAY_MS)).getTime();
  const attachmentRate = opts.attachmentRate ?? 0.12;
  const plans: Plan[] = [];
  while (plans.length < opts.count) {
    let kind: ThreadKind = rng.weighted(THREAD_KINDS);
    if (kind === 'internal' && cast.colleagues.length === 0) kind = 'customer';
    const length = Math.min(kind === 'newsletter' ? 1 : rng.weighted(THREAD_LENGTHS), opts.count - plans.length);
    const dates = threadDates(rng, length, startMs, endMs);
    const frame = frameThread(rng, kind, cast, dates[0].getUTCFullYear());
    const threadKey = rng.hex(16);
    const history: string[] = [];
    for (let i = 0; i < length; i++) {
      const from = frame.sides[i % 2];
      const to = frame.sides[(i + 1) % 2];
      const messageId = mintMessageId(rng, from, dates[i]);
      const fresh = endMs - dates[i].getTime() < 7 * DAY_MS;
      plans.push({
        kind,
        threadKey,
        messageId,
        owner: cast.owner,
        inReplyTo: history[history.length - 1],
        references: history.slice(),
        subject: i === 0 ? frame.subject : `Re: ${frame.subject}`,
        date: dates[i],
        from,
        to: [to],
        cc: frame.cc,
        body: frame.bulk
          ? {
              shape: rng.chance(0.5) ? 'related' : 'alternative',
              charset: 'utf-8',
              text: `${rng.pick(PARAGRAPHS.newsletter)}\n`,
              attachments: [],
              logoOf: frame.bulk.email,
            }
          : chooseBody(rng, kind, i > 0, from, cast.owner, attachmentRate),
        listUnsubscribe: frame.bulk ? `<https://${domainOf(frame.bulk.email)}/unsubscribe/${rng.hex(12)}>` : undefined,
        // Mail read long ago is read; the last week's is often not.
        isRead: fresh ? rng.chance(0.5) : rng.chance(0.96),
        archived: !fresh && rng.chance(kind === 'newsletter' ? 0.6 : 0.35),
        starred: kind !== 'newsletter' && rng.chance(0.06),
        important: (kind === 'customer' || kind === 'internal') && rng.chance(0.4),
        category: frame.bulk ? frame.bulk.category : 'CATEGORY_PERSONAL',
      });
      history.push(messageId);
    }
  }
  // Mailbox order is delivery order; the sort is stable and thread dates ascend, so threads keep their order.
  return plans.sort((a, b) => a.date.getTime() - b.date.getTime());
}

// ---------------------------------------------------------------------------------------------------------------
// Building bytes

interface BodyTemplate {
  /** The composer's Content-Type / Content-Transfer-Encoding lines for the root, folded, CRLF-joined. */
  contentHeaders: string;
  body: Buffer;
}
const templates = new Map<string, Promise<BodyTemplate>>();
const TEMPLATE_CACHE_LIMIT = 20_000;
const BUILD_CONCURRENCY = 64;

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function composerOptions(spec: BodySpec, baseBoundary: string): MailComposerOptions {
  const text = spec.text.replace(/\n/g, '\r\n');
  const paragraphs = spec.text
    .trim()
    .split(/\n{2,}/)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
  const base: MailComposerOptions = { baseBoundary, newline: 'win' };
  if (spec.charset !== 'utf-8') {
    const encoded = encodeSingleByte(text, spec.charset);
    // The composer labels `text` as UTF-8 whatever it holds; an alternative keeps the charset we give it.
    if (encoded) return { ...base, alternatives: [{ content: encoded, contentType: `text/plain; charset=${spec.charset}` }] };
  }
  if (spec.shape === 'text') return { ...base, text };
  const attachments: MailComposerAttachment[] = spec.attachments.map((i) => ({
    filename: ATTACHMENTS[i].filename,
    contentType: ATTACHMENTS[i].contentType,
    content: ATTACHMENTS[i].content(),
  }));
  let html = `<html><body>\n${paragraphs}\n</body></html>`;
  if (spec.shape === 'related' && spec.logoOf) {
    const cid = `logo.${createHash('sha1').update(spec.logoOf).digest('hex').slice(0, 8)}@${LOGO_CID_DOMAIN}`;
    html = `<html><body>\n<img src="cid:${cid}" alt="logo" width="120">\n${paragraphs}\n</body></html>`;
    attachments.push({ filename: 'logo.png', contentType: 'image/png', content: pngBytes(), cid });
  }
  return { ...base, text, html, attachments };
}

async function buildTemplate(spec: BodySpec, key: string): Promise<BodyTemplate> {
  // Boundaries from the body's own hash: deterministic, and unique enough never to occur in the content.
  const baseBoundary = createHash('sha1').update(key).digest('hex').slice(0, 20);
  const built = await new MailComposer(composerOptions(spec, baseBoundary)).compile().build();
  const split = built.indexOf('\r\n\r\n');
  const head = built.subarray(0, split).toString('latin1');
  // Keep what describes the body; Date, Message-ID and MIME-Version are per message and set by assemble().
  const contentHeaders = head
    .split(/\r\n(?![ \t])/)
    .filter((line) => /^content-/i.test(line))
    .join('\r\n');
  return { contentHeaders, body: built.subarray(split + 4) };
}

function template(spec: BodySpec, key: string): Promise<BodyTemplate> {
  let found = templates.get(key);
  if (!found) {
    if (templates.size >= TEMPLATE_CACHE_LIMIT) templates.clear();
    found = buildTemplate(spec, key);
    templates.set(key, found);
    found.catch(() => templates.delete(key));
  }
  return found;
}

const headerEncoder = new MimeNode();
/** One header, encoded (RFC 2047 words, punycode, angle brackets) and folded exactly as the composer would. */
function header(key: string, value: MimeNodeHeaderValue): string {
  return foldLines(`${key}: ${headerEncoder.encodeHeaderValue(key, value)}`, 76);
}
/**
 * The same for values that repeat across a mailbox (people, subjects): encoding costs ~7 µs a call, which
 * would be most of the per-message time without the cache.
 */
const repeatedHeaders = new Map<string, string>();
function cachedHeader(key: string, value: MimeNodeHeaderValue, cacheKey: string): string {
  const id = `${key}\n${cacheKey}`;
  let line = repeatedHeaders.get(id);
  if (line === undefined) {
    if (repeatedHeaders.size >= TEMPLATE_CACHE_LIMIT) repeatedHeaders.clear();
    line = header(key, value);
    repeatedHeaders.set(id, line);
  }
  return line;
}
const people = (list: Identity[]): string => list.map((p) => `${p.name} <${p.email}>`).join('\n');
const address = (who: Identity): { name: string; address: string } => ({ name: who.name, address: who.email });

function assemble(plan: Plan, body: BodyTemplate): GeneratedMessage {
  const lines = [cachedHeader('From', address(plan.from), people([plan.from])), cachedHeader('To', plan.to.map(address), people(plan.to))];
  if (plan.cc.length > 0) lines.push(cachedHeader('Cc', plan.cc.map(address), people(plan.cc)));
  lines.push(cachedHeader('Subject', plan.subject, plan.subject), header('Date', plan.date), header('Message-ID', plan.messageId));
  if (plan.inReplyTo) lines.push(header('In-Reply-To', plan.inReplyTo), header('References', plan.references));
  if (plan.listUnsubscribe) {
    // RFC 8058 one-click unsubscribe, which bulk senders to Gmail must offer; the CRM uses it to spot bulk mail.
    lines.push(header('List-Unsubscribe', plan.listUnsubscribe), header('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'));
  }
  lines.push('MIME-Version: 1.0', body.contentHeaders);
  const raw = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body.body]);
  return describe(plan, raw);
}

function describe(plan: Plan, raw: Buffer): GeneratedMessage {
  const ownerEmail = plan.owner.email.toLowerCase();
  const ownerDomain = domainOf(ownerEmail);
  const lower = (people: Identity[]): string[] => people.map((p) => p.email.toLowerCase());
  const from = plan.from.email.toLowerCase();
  const participants = [from, ...lower(plan.to), ...lower(plan.cc)];
  const sent = from === ownerEmail;
  const direction: Direction = participants.every((a) => domainOf(a) === ownerDomain) ? 'internal' : sent ? 'outbound' : 'inbound';
  const isRead = sent || plan.isRead;
  const inInbox = !sent && !plan.archived;
  // Gmail puts the owner's own mail under SENT only; received mail gets INBOX (unless archived) and a category tab.
  const labelIds = sent
    ? ['SENT', ...(plan.important ? ['IMPORTANT'] : [])]
    : [
        ...(inInbox ? ['INBOX'] : []),
        ...(isRead ? [] : ['UNREAD']),
        ...(plan.starred ? ['STARRED'] : []),
        ...(plan.important ? ['IMPORTANT'] : []),
        plan.category,
      ];
  return {
    raw,
    messageId: plan.messageId,
    threadKey: plan.threadKey,
    date: plan.date,
    from,
    to: lower(plan.to),
    cc: lower(plan.cc),
    subject: plan.subject,
    direction,
    labelIds,
    folder: sent ? 'sentitems' : inInbox ? 'inbox' : 'archive',
    isRead,
    hasAttachments: plan.body.attachments.length > 0,
    inReplyTo: plan.inReplyTo,
    references: plan.references,
    kind: plan.kind,
  };
}

async function build(plans: Plan[]): Promise<GeneratedMessage[]> {
  const keys = plans.map((p) => JSON.stringify(p.body));
  const specs = new Map<string, BodySpec>();
  keys.forEach((key, i) => specs.set(key, plans[i].body));
  const built = new Map<string, BodyTemplate>();
  const unique = [...specs];
  // The composer is stream-based: many builds in flight overlap their setImmediate hops (about 2× the rate).
  for (let i = 0; i < unique.length; i += BUILD_CONCURRENCY) {
    await Promise.all(unique.slice(i, i + BUILD_CONCURRENCY).map(async ([key, spec]) => built.set(key, await template(spec, key))));
  }
  return plans.map((plan, i) => assemble(plan, built.get(keys[i])!));
}

// ---------------------------------------------------------------------------------------------------------------
// Public entry points

/**
 * A whole mailbox, oldest first. Async because nodemailer's composer builds through streams.
 * Deterministic: the same options (seed included; 1 when omitted) give byte-identical messages.
 */
export async function generateMailbox(opts: GenerateMailboxOptions): Promise<GeneratedMessage[]> {
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`count must be a non-negative integer, got ${opts.count}`);
  return build(planMailbox(opts));
}

/** One new message for "deliver new mail" in tests and the demo: inbound to the owner unless told otherwise. */
export async function generateMessage(opts: GenerateMessageOptions): Promise<GeneratedMessage> {
  const date = new Date(Math.floor((opts.date ?? new Date()).getTime() / 1000) * 1000);
  const rng = new Rng(mixSeed(opts.seed ?? date.getTime() % 0x100000000, opts.owner.email.toLowerCase()));
  const ownerEmail = opts.owner.email.toLowerCase();
  const stranger = (): Identity => {
    const domain = rng.pick(DEFAULT_CUSTOMER_DOMAINS);
    return makeIdentities(rng.int(0x7fffffff), 1, domain)[0];
  };
  const from = opts.from ?? stranger();
  const sent = from.email.toLowerCase() === ownerEmail;
  const to = opts.to ?? [sent ? stranger() : opts.owner];
  const kind: ThreadKind = [from, ...to].every((p) => domainOf(p.email) === domainOf(ownerEmail)) ? 'internal' : 'customer';
  const parent = opts.inReplyTo;
  const root = parent ? parent.subject.replace(/^(re|fwd?|aw|sv):\s*/i, '') : undefined;
  const plan: Plan = {
    kind,
    owner: opts.owner,
    date,
    from,
    to,
    cc: opts.cc ?? [],
    threadKey: parent?.threadKey ?? rng.hex(16),
    messageId: mintMessageId(rng, from, date),
    inReplyTo: parent?.messageId,
    references: parent ? [...parent.references, parent.messageId] : [],
    subject:
      opts.subject ??
      (root !== undefined
        ? `Re: ${root}`
        : fillSubject(rng.pick(SUBJECTS.customer), rng, titleCase(rng.pick(DEFAULT_CUSTOMER_DOMAINS)), date.getUTCFullYear())),
    body: chooseBody(rng, kind, parent !== undefined, from, opts.owner, opts.attachment ? 1 : 0),
    isRead: false,
    archived: false,
    starred: false,
    important: kind === 'customer',
    category: 'CATEGORY_PERSONAL',
  };
  return (await build([plan]))[0];
}
