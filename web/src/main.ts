/// <reference lib="dom" />
/**
 * The web console's entry: redeem a one-time sign-in link if the address carries one, then show the page the
 * hash names. Each page gets an AbortSignal that fires when the user leaves it, so polling stops and late
 * answers never paint over the next page.
 */
import { empty, h, show } from './dom';
import { parseRoute, pathToHash, type Route } from './router';
import { currentSession, endSession, keepSession, redeemLoginCode, signOut, takeLoginCode } from './session';
import type { Session } from './types';
import { mailboxesView } from './views/mailboxes';
import { messageView, threadView } from './views/message';
import { companyView, contactsView, contactView, dealsView, dealView } from './views/records';
import { settingsView } from './views/settings';
import { signInView } from './views/signin';
import type { View } from './views/view';
import { whyView } from './views/why';

const VIEWS: Record<string, View> = {
  mailboxes: mailboxesView,
  contacts: contactsView,
  contact: contactView,
  company: companyView,
  deals: dealsView,
  deal: dealView,
  message: messageView,
  thread: threadView,
  settings: settingsView,
  why: whyView,
  signin: signInView,
  not_found: (main) => show(main, empty('No such page', 'Use the menu above.')),
};

const NAV: [string, string, string[]][] = [
  ['#/mailboxes', 'Mailboxes', ['mailboxes']],
  ['#/contacts', 'Contacts', ['contacts', 'contact', 'company']],
  ['#/deals', 'Deals', ['deals', 'deal']],
  ['#/settings', 'Settings', ['settings']],
  ['#/why', 'Why isn’t it here?', ['why']],
];

let controller: AbortController | null = null;

function renderChrome(route: Route): void {
  const session = currentSession();
  const nav = document.getElementById('nav')!;
  const who = document.getElementById('who')!;
  if (!session) {
    show(nav);
    show(who);
    return;
  }
  show(
    nav,
    h(
      'ul',
      {},
      NAV.map(([href, label, names]) => h('li', {}, h('a', { href, 'aria-current': names.includes(route.name) ? 'page' : undefined }, label))),
    ),
  );
  show(
    who,
    h('span', { class: 'muted' }, `${session.user.email}${session.user.role === 'admin' ? ' · admin' : ''}`),
    h(
      'button',
      {
        class: 'button',
        type: 'button',
        onclick: () => {
          signOut();
          location.hash = '#/signin';
        },
      },
      'Sign out',
    ),
  );
}

function render(focus: boolean): void {
  controller?.abort();
  controller = new AbortController();
  let route = parseRoute(location.hash);
  if (!currentSession() && route.name !== 'signin') route = parseRoute('#/signin');
  renderChrome(route);
  const main = document.getElementById('main')!;
  VIEWS[route.name](main, route, controller.signal);
  const section = NAV.find(([, , names]) => names.includes(route.name));
  document.title = section ? `${section[1]} · Threadline` : 'Threadline';
  // Keyboard and screen-reader users land on the new page's content, not on the link they used.
  if (focus) main.focus({ preventScroll: false });
}

async function boot(): Promise<void> {
  pathToHash();
  const code = takeLoginCode();
  if (code) {
    let offered: Session | null = null;
    try {
      offered = await redeemLoginCode(code);
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      history.replaceState(null, '', `${location.pathname}#/signin?problem=${encodeURIComponent(problem)}`);
    }
    // Never switch identity without asking: a link can come from someone else (login CSRF).
    if (offered && !(await confirmSwitch(offered))) {
      await endSession(offered);
      history.replaceState(null, '', `${location.pathname}#/${currentSession() ? 'mailboxes' : 'signin'}`);
    } else if (offered) {
      keepSession(offered);
      history.replaceState(null, '', `${location.pathname}#/mailboxes`);
    }
  }
  window.addEventListener('hashchange', () => render(true));
  render(false);
}

/** Asks whether to open the console as the link's account, saying plainly when that replaces this tab's session. */
function confirmSwitch(offered: Session): Promise<boolean> {
  const current = currentSession();
  const main = document.getElementById('main')!;
  return new Promise((resolve) => {
    const yes = h('button', { class: 'button button-primary', type: 'button' }, `Continue as ${offered.user.email}`);
    const no = h('button', { class: 'button', type: 'button' }, 'Cancel');
    const done = (answer: boolean) => () => resolve(answer);
    yes.addEventListener('click', done(true));
    no.addEventListener('click', done(false));
    main.replaceChildren(
      h(
        'section',
        { class: 'card', role: 'dialog', 'aria-labelledby': 'switch-title' },
        h('h1', { id: 'switch-title' }, 'Open Threadline with this sign-in link?'),
        h(
          'p',
          {},
          `The link signs this tab in as ${offered.user.email} (${offered.org.name}). Continue only if you asked for it yourself, from your Gmail or Outlook sidebar.`,
        ),
        current && current.user.id !== offered.user.id
          ? h('p', { class: 'problem', role: 'note' }, `This tab is signed in as ${current.user.email}. Continuing signs that account out here.`)
          : '',
        h('div', { class: 'actions' }, yes, no),
      ),
    );
    yes.focus();
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => void boot());
else void boot();
