// app.js is the console's shell: the log-in, the header, the router
// between views, and the event stream that keeps every view current.
import { request, subscribe, h, toast } from './api.js';
import { board } from './board.js';
import { record } from './record.js';
import { segments } from './segments.js';
import { reports } from './reports.js';
import { initSearch } from './search.js';

const routes = [
  [/^#\/board$/, () => board()],
  [/^#\/(contacts|companies|deals)\/([\w-]+)$/, (m) => record(m[1], m[2])],
  [/^#\/segments$/, () => segments()],
  [/^#\/reports$/, () => reports()],
];

let session = null;
let current = null; // the view on screen: {el, refresh, dispose}
let stopEvents = null;

async function start() {
  session = await request('GET', '/session');
  renderWho();
  if (!session.user) {
    showLogin();
    return;
  }
  initSearch();
  stopEvents?.();
  stopEvents = subscribe(onEvent);
  window.addEventListener('hashchange', route);
  route();
}

function renderWho() {
  const who = document.getElementById('who');
  who.replaceChildren();
  if (session.user) {
    who.append(
      h('span', { class: 'me', 'data-testid': 'me' }, session.user.name, h('small', {}, ' ', session.user.roles.join(', '))),
      h('button', { class: 'link', onclick: logOut }, 'Switch user'),
    );
  }
  document.body.classList.toggle('anonymous', !session.user);
}

function showLogin() {
  const view = document.getElementById('view');
  view.replaceChildren(
    h('section', { class: 'login' },
      h('h1', {}, 'Log in to the demo'),
      h('p', { class: 'muted' }, 'Each user sees what the workspace\'s access policy lets them: a rep their own deals, the manager the team\'s, the admin everything.'),
      h('ul', {}, session.users.map((u) => h('li', {},
        h('button', { 'data-user': u.id, onclick: () => logIn(u.id) }, u.name),
        h('span', { class: 'muted' }, ' ', u.roles.join(', '), u.teams ? ' · team ' + u.teams.join(', ') : ''))))));
}

async function logIn(id) {
  session = await request('POST', '/session', { id });
  location.hash = '#/board';
  await start();
}

async function logOut() {
  stopEvents?.();
  stopEvents = null;
  current?.dispose?.();
  current = null;
  await request('DELETE', '/session');
  session = await request('GET', '/session');
  renderWho();
  showLogin();
}

async function route() {
  if (!session?.user) return;
  const hash = location.hash || '#/board';
  for (const [re, make] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    current?.dispose?.();
    const view = make(m);
    current = view;
    document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active', hash.startsWith('#/' + a.dataset.nav)));
    const root = document.getElementById('view');
    root.replaceChildren(view.el);
    try {
      await view.refresh();
    } catch (e) {
      showError(e);
    }
    return;
  }
  location.hash = '#/board';
}

// onEvent refreshes the view on screen when a change it may show arrives,
// a few at a time.
let pending = null;
function onEvent(type, ev) {
  if (!current?.refresh || (current.kinds && !current.kinds.includes(ev.kind))) return;
  clearTimeout(pending);
  const view = current;
  pending = setTimeout(() => {
    if (view === current) view.refresh().catch(showError);
  }, 150);
}

// showError shows a failure; a request refused for want of a log-in (the
// session ended elsewhere) brings back the log-in.
export function showError(e) {
  if (e.status === 401) {
    stopEvents?.();
    stopEvents = null;
    current = null;
    session = { user: null, users: session?.users || [] };
    renderWho();
    showLogin();
    return;
  }
  console.error(e);
  toast(e.message || String(e), true);
}

start().catch(showError);
