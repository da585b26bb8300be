// task.js — one task's page: its state and counts, live while it runs (the task's own event
// stream), a throughput chart from its batches' commit times, its per-line results paged and
// filtered by the server, downloads, cancel and resume, and its webhook deliveries.
import {ApiError, api, download, follow, page} from './api.js';
import {badge, confirmDialog, duration, errorBox, field, h, num, pager, progress, table, time, toast} from './ui.js';
import {shortId} from './tasks.js';

const RESULTS_LIMIT = 50;
const TYPES = ['Organization', 'Source', 'Collection', 'Concept', 'Mapping', 'Reference', 'User',
               'Source Version', 'Collection Version', 'Import'];

const enc = encodeURIComponent;

function facts(task) {
  const p = task.progress || {};
  const row = (name, value) => [h('dt', {}, name), h('dd', {}, value)];
  return h('dl', {class: 'facts'},
    row('State', badge(task.state)),
    row('User', task.username),
    row('Queue', task.queue),
    row('Created', time(task.created_at)),
    row('Started', time(task.started_at)),
    row('Finished', time(task.finished_at)),
    row('Waited', duration(task.wait_seconds)),
    row('Ran', duration(task.duration)),
    row('Lines', `${num(p.processed)} of ${num(p.total)}`),
    task.feed ? row('Feed', task.feed) : null,
    task.exception ? row('Error', h('span', {class: 'error'}, task.exception)) : null);
}

function counts(task) {
  const p = task.progress || {};
  const tiles = [['Created', p.created], ['Updated', p.updated], ['Deleted', p.deleted],
                 ['Skipped', p.skipped], ['Failed', p.failed], ['Pruned', p.pruned]];
  const byGroup = (task.counts || []).map(c =>
    h('li', {}, h('span', {class: 'mono'}, `${c.action} ${c.status || 'skip'}`), ' ', h('strong', {}, num(c.count))));
  return [h('ul', {class: 'tiles'}, tiles.map(([name, n]) =>
            h('li', {class: name === 'Failed' && n ? 'tile bad' : 'tile'}, h('span', {}, name), h('strong', {}, num(n))))),
          byGroup.length ? h('ul', {class: 'groups', 'aria-label': 'Counts by action and status'}, byGroup) : null];
}

// An SVG chart of the lines committed over the run (from the batches' commit times), with the
// average rate: a steady slope is a steady import, a flat stretch a stall.
function chart(batches) {
  const timed = batches.filter(b => b.recorded_at && b.began_at);
  if (!timed.length)
    return h('p', {class: 'muted'}, 'No batch committed: nothing to chart.');
  const t0 = timed.reduce((min, b) => Math.min(min, Date.parse(b.began_at)), Infinity);
  const points = timed.map(b => ({t: Date.parse(b.recorded_at) - t0, n: b.processed})).sort((a, b) => a.t - b.t);
  let sum = 0;
  const cumulative = [{t: 0, n: 0}, ...points.map(p => ({t: p.t, n: (sum += p.n)}))];
  const span = Math.max(cumulative[cumulative.length - 1].t, 1);
  const W = 600, H = 140, ns = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs))
      node.setAttribute(k, v);
    if (text)
      node.textContent = text;
    return node;
  };
  const rate = Math.round(sum / (span / 1000));
  const svg = el('svg', {viewBox: `0 0 ${W} ${H + 20}`, class: 'chart', role: 'img',
                         'aria-label': `${num(sum)} lines committed over ${duration(span / 1000)}, ${num(rate)} lines per second on average`});
  svg.append(el('line', {x1: 0, y1: H, x2: W, y2: H, class: 'chart-axis'}),
             el('polyline', {class: 'chart-line',
                             points: cumulative.map(p => `${p.t / span * (W - 8) + 4},${H - p.n / sum * (H - 20)}`).join(' ')}),
             el('text', {x: 4, y: 14, class: 'chart-label'}, `${num(sum)} lines · ${num(rate)} lines/s on average`),
             el('text', {x: W - 4, y: H + 16, 'text-anchor': 'end', class: 'chart-label'}, duration(span / 1000)));
  return svg;
}

function resultsView(taskId, task, signal) {
  const filter = {action: '', status: '', type: '', from: '', to: '', page: 1};
  const actions = [...new Set((task.counts || []).map(c => c.action))];
  const select = (name, options, label) => field(label, h('select', {name},
    options.map(([v, text]) => h('option', {value: v}, text))));
  const form = h('form', {class: 'filters', 'aria-label': 'Filter results'},
    select('status', [['', 'Any status'], ['failed', 'Failed'], ['succeeded', 'Succeeded'], ['skipped', 'Skipped']], 'Status'),
    select('action', [['', 'Any action'], ...actions.map(a => [a, a])], 'Action'),
    select('type', [['', 'Any type'], ...TYPES.map(t => [t, t])], 'Type'),
    field('From line', h('input', {name: 'from', type: 'number', min: 1, inputmode: 'numeric'})),
    field('To line', h('input', {name: 'to', type: 'number', min: 1, inputmode: 'numeric'})),
    h('div', {class: 'field buttons'}, h('button', {type: 'submit'}, 'Show')));
  const out = h('div', {class: 'results', 'aria-live': 'polite'});
  const columns = [
    {label: 'Line', class: 'num', cell: r => num(r.line)},
    {label: 'Action', cell: r => r.action_type},
    {label: 'Status', cell: r => h('span', {class: Number(r.status_code) >= 400 ? 'bad' : ''}, String(r.status_code))},
    {label: 'Type', cell: r => r.obj_type || '—'},
    {label: 'Result', class: 'wide', cell: r => h('div', {},
      r.obj_url ? h('div', {class: 'mono'}, r.obj_url) : null,
      r.message && Number(r.status_code) >= 400 ? h('div', {class: 'error'}, r.message) : null,
      r.text ? h('details', {}, h('summary', {}, 'Line text'), h('pre', {}, r.text))
             : r.text_bytes ? h('small', {class: 'muted'}, `Line text of ${num(r.text_bytes)} bytes: in the downloads`) : null)},
  ];
  async function load() {
    const q = new URLSearchParams({page: String(filter.page), limit: String(RESULTS_LIMIT)});
    for (const k of ['action', 'status', 'type', 'from', 'to'])
      if (filter[k])
        q.set(k, filter[k]);
    try {
      const r = await page(`/tasks/${enc(taskId)}/results/?${q}`, signal);
      out.replaceChildren(table(columns, r.items, 'No results match.', 'Results'),
                          pager(r.page, r.pages, r.total, n => { filter.page = n; load(); }, 'results'));
    } catch (e) {
      if (!signal.aborted)
        out.replaceChildren(errorBox(e));
    }
  }
  form.addEventListener('submit', e => {
    e.preventDefault();
    Object.assign(filter, Object.fromEntries(new FormData(form)), {page: 1});
    load();
  });
  load();
  return h('section', {'aria-labelledby': 'results-h'}, h('h2', {id: 'results-h'}, 'Results, line by line'), form, out);
}

function actionsBar(task, reload) {
  const id = task.id;
  const running = task.state === 'PENDING' || task.state === 'STARTED';
  const file = shortId(id).replace(/[^A-Za-z0-9._~-]+/g, '_');
  const cancel = async () => {
    if (!await confirmDialog(`Cancel task ${shortId(id)}? Lines already applied stay applied.`, 'Cancel task'))
      return;
    try {
      await api(`/tasks/${enc(id)}/`, {method: 'DELETE'});
      toast('Task cancelled.');
      reload();
    } catch (e) { toast(e.message, 'error'); }
  };
  const resume = async () => {
    if (!await confirmDialog(`Resume task ${shortId(id)} from where it stopped?`, 'Resume task'))
      return;
    try {
      await api(`/manage/bulkimport/?task=${enc(id)}&action=resume`, {method: 'POST'});
      toast('Task resumed.');
      reload();
    } catch (e) { toast(e.message, 'error'); }
  };
  const get = (result, name) => () => download(`/manage/bulkimport/?task=${enc(id)}&result=${result}`, name)
                                       .catch(e => toast(e.message, 'error'));
  return h('div', {class: 'actions'},
    running ? h('button', {type: 'button', class: 'danger', onclick: cancel}, 'Cancel') : null,
    task.state === 'REVOKED' || task.state === 'FAILURE' ? h('button', {type: 'button', onclick: resume}, 'Resume') : null,
    !running ? h('button', {type: 'button', class: 'secondary', onclick: get('failed', `${file}-failed.jsonl`)}, 'Download failed lines') : null,
    !running ? h('button', {type: 'button', class: 'secondary', onclick: get('report', `${file}-report.txt`)}, 'Download report') : null,
    !running ? h('button', {type: 'button', class: 'secondary', onclick: get('json&format=lines', `${file}-results.jsonl`)}, 'Download results') : null);
}

async function deliveries(id, signal) {
  const list = await api(`/tasks/${enc(id)}/deliveries/`, {signal});
  return h('section', {'aria-labelledby': 'deliveries-h'}, h('h2', {id: 'deliveries-h'}, 'Webhook deliveries'),
    table([{label: 'URL', class: 'mono', cell: d => d.url},
           {label: 'Attempts', class: 'num', cell: d => num(d.attempts)},
           {label: 'Last status', cell: d => d.last_status ?? '—'},
           {label: 'Outcome', cell: d => d.delivered_at ? h('span', {}, 'delivered ', time(d.delivered_at))
                                          : d.gave_up_at ? h('span', {class: 'bad'}, 'gave up ', time(d.gave_up_at))
                                          : h('span', {}, 'next try ', time(d.due_at))},
           {label: 'Last error', cell: d => d.last_error || '—'}],
          list, 'This task has no webhook (callback_url).', 'Webhook deliveries'));
}

// Task id's page: live while it runs, then its chart, results and deliveries.
export async function renderTask(main, [id], ctx) {
  const {signal} = ctx;
  document.title = `Task ${shortId(id)} · bulkimport`;
  const head = h('div', {class: 'page-head'}, h('h1', {class: 'mono'}, `Task ${shortId(id)}`));
  const live = h('div', {});
  const chartBox = h('section', {'aria-labelledby': 'chart-h'}, h('h2', {id: 'chart-h'}, 'Lines committed over the run'));
  const rest = h('div', {});
  main.append(h('p', {}, h('a', {href: '#/tasks'}, '← All tasks')), head, live, chartBox, rest);
  let task;
  try {
    task = await api(`/tasks/${enc(id)}/`, {signal});
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      live.replaceChildren(h('p', {class: 'error', role: 'alert'}, 'No such task, or not yours.'));
      return;
    }
    throw e;
  }
  const reload = () => ctx.navigate(`#/tasks/${enc(id)}`, `t=${Date.now()}`);
  const top = h('div', {}), actions = h('div', {}), details = h('div', {});
  live.append(top, actions, details);
  let actionsFor = null;
  function show(t) { /* the buttons are rebuilt only when the state changes: focus stays */
    top.replaceChildren(
      h('p', {class: 'summary-line'}, t.message || (t.state === 'PENDING' ? 'Waiting to start.' : 'Running…')),
      progress(t));
    if (actionsFor !== t.state) {
      actions.replaceChildren(actionsBar(t, reload));
      actionsFor = t.state;
    }
    details.replaceChildren(facts(t), ...counts(t).filter(Boolean));
  }
  show(task);
  const finish = async () => {
    const batches = await api(`/tasks/${enc(id)}/batches/`, {signal}).catch(() => []);
    chartBox.replaceChildren(h('h2', {id: 'chart-h'}, 'Lines committed over the run'), chart(batches));
    rest.replaceChildren(resultsView(id, task, signal), await deliveries(id, signal).catch(errorBox));
  };
  if (task.state === 'PENDING' || task.state === 'STARTED') {
    chartBox.append(h('p', {class: 'muted'}, 'The chart and the results appear when the task ends.'));
    const stream = new AbortController();
    signal.addEventListener('abort', () => stream.abort());
    await follow(`/manage/bulkimport/?task=${enc(id)}`, stream.signal, async (name, data) => {
      if (name === 'progress') {
        show(data);
      } else if (name === 'done') {
        stream.abort();
        try {
          task = await api(`/tasks/${enc(id)}/`, {signal});
          show(task);
          await finish();
        } catch (e) {
          if (!signal.aborted)
            live.append(errorBox(e));
        }
      }
    });
  } else {
    await finish();
  }
}
