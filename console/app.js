// app.js — the console's shell: sign-in and sign-out, the signed-in user, and the router that
// shows one page per location hash (#/tasks, #/tasks/ID, #/new, #/queues, #/feeds, #/users).
// Each page is a function render(main, params, ctx) that may return a cleanup; leaving a page
// aborts ctx.signal, which ends its streams and calls.
import {api, setToken, token, whenUnauthorized} from './api.js';
import {field, h} from './ui.js';
import {renderTasks} from './tasks.js';
import {renderTask} from './task.js';
import {renderNew} from './new.js';
import {renderQueues, renderFeeds, renderUsers} from './admin.js';

const main = document.getElementById('main');
const session = {user: null};
let leave = null;

const pages = [
  [/^#\/tasks\/(.+)$/, renderTask],
  [/^#\/tasks$/, renderTasks],
  [/^#\/new$/, renderNew],
  [/^#\/queues$/, renderQueues],
  [/^#\/feeds$/, renderFeeds],
  [/^#\/users$/, renderUsers],
];

function signOut(message) {
  setToken(null);
  session.user = null;
  showSignIn(message);
}

whenUnauthorized(message => signOut(message));

function showChrome(user) {
  document.getElementById('nav').hidden = !user;
  document.getElementById('who').hidden = !user;
  document.getElementById('who-name').textContent = user ? `${user.username}${user.is_root ? ' (root)' : ''}` : '';
  for (const el of document.querySelectorAll('[data-root]'))
    el.hidden = !(user && user.is_root);
}

function stopPage() {
  if (leave) {
    leave.abort();
    leave = null;
  }
}

function showSignIn(message) {
  stopPage();
  showChrome(null);
  document.title = 'Sign in · bulkimport';
  const input = h('input', {type: 'password', name: 'token', autocomplete: 'current-password',
                            required: true, spellcheck: 'false'});
  const error = h('p', {class: 'error', role: 'alert', hidden: !message}, message || '');
  const form = h('form', {class: 'card signin', 'aria-labelledby': 'signin-title'},
    h('h1', {id: 'signin-title'}, 'Sign in'),
    h('p', {class: 'muted'}, 'Give your API token. It stays in this tab only and is sent with each call, never in a URL.'),
    field('API token', input),
    error,
    h('button', {type: 'submit'}, 'Sign in'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    setToken(input.value.trim());
    try {
      session.user = await api('/user/', {signingIn: true});
      if (!location.hash || location.hash === '#/signin')
        location.hash = '#/tasks';
      route();
    } catch (err) {
      setToken(null);
      error.hidden = false;
      error.textContent = err.status === 401 ? 'That token was not accepted.' : err.message;
    }
  });
  main.replaceChildren(form);
  input.focus();
}

async function route() {
  if (!token())
    return showSignIn();
  if (!session.user) {
    try {
      session.user = await api('/user/');
    } catch {
      return; /* a 401 already went back to sign-in */
    }
  }
  showChrome(session.user);
  stopPage();
  const hash = location.hash || '#/tasks';
  const [path, query = ''] = hash.split('?');
  const found = pages.find(([re]) => re.test(path));
  if (!found) {
    location.hash = '#/tasks';
    return;
  }
  for (const a of document.querySelectorAll('#nav a'))
    a.toggleAttribute('aria-current', path.startsWith(a.getAttribute('href')));
  leave = new AbortController();
  const match = found[0].exec(path);
  const params = new URLSearchParams(query);
  const ctx = {signal: leave.signal, user: session.user, params,
               navigate: (p, q) => { location.hash = q && String(q) ? `${p}?${q}` : p; }};
  main.replaceChildren();
  main.focus({preventScroll: true});
  try {
    await found[1](main, match.slice(1).map(decodeURIComponent), ctx);
  } catch (e) {
    if (!ctx.signal.aborted)
      main.replaceChildren(h('p', {class: 'error', role: 'alert'}, e.message));
  }
}

document.getElementById('sign-out').addEventListener('click', () => {
  history.replaceState(null, '', location.pathname); /* no hashchange: the message stays */
  signOut('Signed out.');
});
// The skip link moves the focus; as a hash it would be taken for a page.
document.querySelector('.skip').addEventListener('click', e => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
route();
