// tasks.js — the tasks page: the caller's tasks (root: everyone's) with filters and paging, kept
// live by one list-level event stream (/tasks/events/) for the whole table.
import {follow, page} from './api.js';
import {badge, errorBox, field, h, num, pager, progress, table, time} from './ui.js';

const STATES = ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED'];
const LIMIT = 25;

function listPath(params, user) {
  const q = new URLSearchParams();
  for (const name of ['q', 'queue', 'state'])
    if (params.get(name))
      q.set(name, params.get(name));
  if (params.get('from'))
    q.set('created_after', params.get('from'));
  if (params.get('to')) /* the whole day of "to" */
    q.set('created_before', new Date(Date.parse(params.get('to')) + 86400000).toISOString().slice(0, 10));
  q.set('page', params.get('page') || '1');
  q.set('limit', String(LIMIT));
  const who = user.is_root && params.get('user') ? `/users/${encodeURIComponent(params.get('user'))}/tasks/` : '/tasks/';
  return `${who}?${q}`;
}

function filters(params, user, navigate) {
  const input = (name, attrs = {}) => h('input', {name, value: params.get(name) || '', ...attrs});
  const state = h('select', {name: 'state'}, h('option', {value: ''}, 'Any state'),
                  STATES.map(s => h('option', {value: s, selected: params.get('state') === s}, s)));
  const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter tasks'},
    field('Search id', input('q', {type: 'search', placeholder: 'part of a task id'})),
    user.is_root ? field('User', input('user', {placeholder: 'anyone'})) : null,
    field('Queue', input('queue', {placeholder: 'any'})),
    field('State', state),
    field('Created from', input('from', {type: 'date'})),
    field('to', input('to', {type: 'date'})),
    h('div', {class: 'field buttons'}, h('button', {type: 'submit'}, 'Filter'),
      h('button', {type: 'reset', class: 'secondary'}, 'Clear')));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form))
      if (v)
        q.set(k, v);
    navigate('#/tasks', q);
  });
  form.addEventListener('reset', e => {
    e.preventDefault();
    navigate('#/tasks');
  });
  return form;
}

const columns = [
  {label: 'Task', cell: t => taskLink(t.id)},
  {label: 'User', cell: t => t.username},
  {label: 'Queue', cell: t => t.queue},
  {label: 'State', cell: t => badge(t.state)},
  {label: 'Progress', class: 'wide', cell: t => progress(t)},
  {label: 'Created', cell: t => time(t.created_at)},
];

// A link to task id's page, named by its short id.
export function taskLink(id) {
  return h('a', {href: `#/tasks/${encodeURIComponent(id)}`, class: 'mono'}, shortId(id));
}

// "0b1c…-root~queue": enough of the uuid to tell tasks apart, the owner and queue whole.
export function shortId(id) {
  const m = /^([0-9a-f]{8})[0-9a-f-]{28}(-.*)$/.exec(id);
  return m ? `${m[1]}…${m[2]}` : id;
}

// The tasks page for ctx.params (q, user, queue, state, from, to, page).
export async function renderTasks(main, _args, ctx) {
  const {params, user, signal, navigate} = ctx;
  document.title = 'Tasks · bulkimport';
  const live = h('span', {class: 'live muted', 'aria-live': 'off'}, 'connecting…');
  const body = h('div', {'aria-busy': 'true'});
  main.append(h('div', {class: 'page-head'}, h('h1', {}, user.is_root ? 'All tasks' : 'Your tasks'), live,
                h('a', {href: '#/new', class: 'button'}, 'New import')),
              filters(params, user, navigate), body);
  const rows = new Map(); /* id → its <tr> */
  let shown = [];
  let reloading = null;

  async function load() {
    try {
      const result = await page(listPath(params, user), signal);
      shown = result.items;
      rows.clear();
      const go = n => { params.set('page', String(n)); navigate('#/tasks', params); };
      const t = table(columns, shown, 'No tasks match.', 'Tasks');
      for (const [i, tr] of [...t.querySelectorAll('tbody tr')].entries())
        rows.set(shown[i].id, tr);
      body.replaceChildren(t, pager(result.page, result.pages, result.total, go, 'tasks'));
    } catch (e) {
      if (!signal.aborted)
        body.replaceChildren(errorBox(e));
    }
    body.setAttribute('aria-busy', 'false');
  }

  function reloadSoon() {
    if (!reloading)
      reloading = setTimeout(() => { reloading = null; load(); }, 300);
  }

  await load();
  const firstPage = (params.get('page') || '1') === '1';
  const known = new Set(); /* every id the stream has named: only a new one reloads the list */
  let baseline = true;
  follow('/tasks/events/', signal, (name, data) => {
    if (name === 'ended' && rows.has(data.id))
      reloadSoon();
    if (name !== 'active')
      return;
    const newest = shown.length ? shown[0].created_at : '';
    for (const task of data.tasks) {
      const tr = rows.get(task.id);
      if (tr) {
        shown[shown.findIndex(t => t.id === task.id)] = task;
        columns.forEach((c, k) => tr.children[k].replaceChildren(c.cell(task)));
      } else if (!baseline && !known.has(task.id) && firstPage && task.created_at > newest &&
                 matchesFilters(task, params)) {
        reloadSoon(); /* a new task for the top of the list */
      }
      known.add(task.id);
    }
    baseline = false;
  }, state => { live.textContent = {open: '● live', retrying: 'reconnecting…', closed: 'not live'}[state]; });
}

// Whether a task the stream names belongs in this list (the server applies q itself).
function matchesFilters(task, params) {
  const day = task.created_at.slice(0, 10);
  return (!params.get('user') || task.username === params.get('user')) &&
         (!params.get('queue') || task.queue === params.get('queue')) &&
         (!params.get('state') || params.get('state') === task.state) &&
         (!params.get('q') || task.id.toLowerCase().includes(params.get('q').toLowerCase())) &&
         (!params.get('from') || day >= params.get('from')) && (!params.get('to') || day <= params.get('to'));
}
