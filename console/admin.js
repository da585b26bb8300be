// admin.js — the pages around imports: queues and nodes, feeds (list, runs, run now, pause and
// resume), and for root the users (create, disable and enable, a new token).
import {api} from './api.js';
import {badge, confirmDialog, duration, errorBox, field, h, num, table, time, toast} from './ui.js';
import {taskLink} from './tasks.js';

const enc = encodeURIComponent;

// The queues with waiting or running tasks (the caller's; root: everyone's), and root's nodes.
export async function renderQueues(main, _args, {signal, user}) {
  document.title = 'Queues · bulkimport';
  const queues = await api('/manage/queues/', {signal});
  main.append(h('h1', {}, 'Queues'), table([
    {label: 'User', cell: q => q.username},
    {label: 'Queue', cell: q => h('span', {}, q.queue, q.named ? h('small', {class: 'muted'}, ' (named: one at a time)') : null)},
    {label: 'Pending', class: 'num', cell: q => num(q.pending)},
    {label: 'Started', class: 'num', cell: q => num(q.started)},
    {label: 'Oldest waiting', cell: q => q.oldest_pending_seconds === null || q.oldest_pending_seconds === undefined ? '—' : duration(q.oldest_pending_seconds)},
    {label: 'Running', cell: q => (q.running || []).map(taskLink)},
    {label: 'Next', cell: q => (q.next || []).map(taskLink)},
  ], queues, 'No task is waiting or running.', 'Queues'));
  if (!user.is_root)
    return;
  const nodes = await api('/manage/nodes/', {signal});
  main.append(h('h2', {}, 'Nodes'), table([
    {label: 'Node', class: 'mono', cell: n => n.name},
    {label: 'Version', cell: n => `${n.version} (${n.commit || '?'})`},
    {label: 'Schema', class: 'mono', cell: n => n.schema},
    {label: 'Workers', class: 'num', cell: n => `${num(n.busy)} busy of ${num(n.workers)}`},
    {label: 'Running tasks', class: 'num', cell: n => num(n.running_tasks)},
    {label: 'Heartbeat', cell: n => n.stopped_at ? h('span', {class: 'muted'}, 'stopped ', time(n.stopped_at))
                                                : `${duration(n.heartbeat_age_seconds)} ago`},
    {label: 'Started', cell: n => time(n.started_at)},
  ], nodes, 'No node has reported.', 'Nodes'));
}

function runsTable(runs) {
  return table([
    {label: 'Run', class: 'num', cell: r => num(r.run)},
    {label: 'Trigger', cell: r => r.trigger},
    {label: 'State', cell: r => badge(r.state)},
    {label: 'Task', cell: r => r.task ? taskLink(r.task) : '—'},
    {label: 'Lines', class: 'num', cell: r => num(r.lines)},
    {label: 'Failed', class: 'num', cell: r => num(r.failed)},
    {label: 'Started', cell: r => time(r.started_at)},
    {label: 'Error', cell: r => r.error || '—'},
  ], runs, 'No runs yet.', 'Runs');
}

// The caller's feeds (root: everyone's) with their actions and runs.
export async function renderFeeds(main, _args, {signal, user}) {
  document.title = 'Feeds · bulkimport';
  const list = h('div', {});
  main.append(h('h1', {}, 'Feeds'), list);
  async function load() {
    const feeds = await api('/manage/feeds/', {signal});
    const owner = f => user.is_root && f.username !== user.username ? `?username=${enc(f.username)}` : '';
    const act = (f, what, done) => async () => {
      try {
        const r = await api(`/manage/feeds/${enc(f.name)}/${what}/${owner(f)}`, {method: 'POST'});
        toast(done(r));
        await load();
      } catch (e) { toast(e.message, 'error'); }
    };
    const runs = f => async e => {
      const box = e.target.closest('td').querySelector('.runs');
      if (box.childElementCount) { box.replaceChildren(); return; }
      try {
        box.replaceChildren(runsTable(await api(`/manage/feeds/${enc(f.name)}/runs/${owner(f)}`, {signal})));
      } catch (err) { box.replaceChildren(errorBox(err)); }
    };
    list.replaceChildren(table([
      {label: 'Feed', cell: f => h('strong', {}, f.name)},
      {label: 'User', cell: f => f.username},
      {label: 'URL', class: 'mono', cell: f => f.url},
      {label: 'Schedule', cell: f => `${f.schedule} · ${f.mode}${f.prune ? ' · prune' : ''}`},
      {label: 'Next run', cell: f => f.paused ? h('span', {class: 'muted'}, 'paused') : time(f.next_run_at)},
      {label: 'Actions', class: 'wide', cell: f => h('div', {},
        h('div', {class: 'actions'},
          h('button', {type: 'button', onclick: act(f, 'run', r => r.unchanged ? 'Unchanged: nothing to import.' : 'Run queued.')}, 'Run now'),
          f.paused ? h('button', {type: 'button', class: 'secondary', onclick: act(f, 'resume', () => 'Feed resumed.')}, 'Resume')
                   : h('button', {type: 'button', class: 'secondary', onclick: act(f, 'pause', () => 'Feed paused.')}, 'Pause'),
          h('button', {type: 'button', class: 'secondary', onclick: runs(f)}, 'Runs')),
        h('div', {class: 'runs'}))},
    ], feeds, 'No feeds. Create one with POST /manage/feeds/ (README, "Feeds").', 'Feeds'));
  }
  await load();
}

// Root's user administration: create, disable and enable, new tokens.
export async function renderUsers(main, _args, {signal, user}) {
  document.title = 'Users · bulkimport';
  if (!user.is_root) {
    main.append(h('p', {class: 'error', role: 'alert'}, 'Only root administers users.'));
    return;
  }
  const list = h('div', {});
  const secret = h('div', {'aria-live': 'polite'});
  const name = h('input', {name: 'username', required: true, pattern: '[\\w.@+\\-]+', autocomplete: 'off'});
  const isRoot = h('input', {type: 'checkbox', id: 'new-is-root', name: 'is_root'});
  const form = h('form', {class: 'filters', 'aria-label': 'Create a user'},
    field('New user', name),
    h('div', {class: 'check'}, isRoot, h('label', {for: 'new-is-root'}, 'root')),
    h('div', {class: 'field buttons'}, h('button', {type: 'submit'}, 'Create')));
  const showToken = (who, token) => secret.replaceChildren(h('div', {class: 'card secret'},
    h('p', {}, `The token of ${who}: copy it now, it is not shown again.`),
    h('input', {readonly: true, value: token, class: 'mono', 'aria-label': `Token of ${who}`})));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    try {
      const u = await api('/users/', {method: 'POST', body: {username: name.value.trim(), is_root: isRoot.checked}});
      showToken(u.username, u.token);
      form.reset();
      await load();
    } catch (err) { toast(err.message, 'error'); }
  });
  async function load() {
    const users = await api('/users/?limit=200', {signal});
    const patch = (u, body, done) => async () => {
      if (body.disabled && !await confirmDialog(`Disable ${u.username}? Its tokens stop working at once, its waiting tasks are cancelled and its running ones stop.`, 'Disable'))
        return;
      try {
        await api(`/users/${enc(u.username)}/`, {method: 'PATCH', body});
        toast(done);
        await load();
      } catch (err) { toast(err.message, 'error'); }
    };
    const newToken = u => async () => {
      try {
        const r = await api(`/users/${enc(u.username)}/token/`, {method: 'POST'});
        showToken(u.username, r.token);
      } catch (err) { toast(err.message, 'error'); }
    };
    list.replaceChildren(table([
      {label: 'User', cell: u => h('strong', {}, u.username)},
      {label: 'Role', cell: u => u.is_root ? 'root' : 'user'},
      {label: 'State', cell: u => u.disabled ? h('span', {class: 'bad'}, 'disabled') : 'active'},
      {label: 'Tokens', class: 'num', cell: u => num(u.tokens)},
      {label: 'Last used', cell: u => time(u.last_used_at)},
      {label: 'Created', cell: u => time(u.created_at)},
      {label: 'Actions', cell: u => u.username === user.username ? h('span', {class: 'muted'}, 'you') : h('div', {class: 'actions'},
        u.disabled ? h('button', {type: 'button', class: 'secondary', onclick: patch(u, {disabled: false}, 'User enabled.')}, 'Enable')
                   : h('button', {type: 'button', class: 'danger', onclick: patch(u, {disabled: true}, 'User disabled.')}, 'Disable'),
        h('button', {type: 'button', class: 'secondary', onclick: newToken(u)}, 'New token'),
        h('a', {href: `#/tasks?user=${enc(u.username)}`}, 'Tasks'))},
    ], users, 'No users.', 'Users'));
  }
  main.append(h('h1', {}, 'Users'), form, secret, list);
  await load();
}
