// ui.js — the console's small kit: building DOM nodes (text is always text: nothing the server
// sends is parsed as HTML), numbers and times for people, and the few widgets every page uses.

// h('a', {href: '#/x', class: 'y'}, 'text', child, ...): an element. Attributes starting with
// "on" are listeners; false/null/undefined attributes and children are left out.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined)
      continue;
    if (name.startsWith('on'))
      el.addEventListener(name.slice(2), value);
    else if (name === 'value')
      el.value = value;
    else
      el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === false || child === null || child === undefined)
      continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const numbers = new Intl.NumberFormat();

// 1234567 → "1,234,567" in the browser's locale.
export function num(n) {
  return n === null || n === undefined ? '—' : numbers.format(n);
}

// A <time> in the browser's zone, the UTC instant in its title.
export function time(iso) {
  if (!iso)
    return h('span', {class: 'muted'}, '—');
  const d = new Date(iso);
  return h('time', {datetime: d.toISOString(), title: d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')},
           d.toLocaleString());
}

// 3725 → "1 h 2 min"; 42.5 → "42.5 s".
export function duration(seconds) {
  if (seconds === null || seconds === undefined)
    return '—';
  if (seconds < 60)
    return `${Math.round(seconds * 10) / 10} s`;
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  if (m < 60)
    return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// A state badge (PENDING, STARTED, SUCCESS, FAILURE, REVOKED).
export function badge(state) {
  return h('span', {class: `badge state-${String(state).toLowerCase()}`}, state);
}

// A task's progress: a <progress> with its label, lines/s and ETA when running.
export function progress(task) {
  const p = task.progress || task.summary || {};
  const total = p.total || 0, done = p.processed || 0;
  const bar = h('progress', {max: Math.max(total, 1), value: done,
                             'aria-label': `Task ${task.id} progress`});
  const text = [`${num(done)} / ${num(total)}`];
  if (task.state === 'STARTED' && p.lines_per_second)
    text.push(`${num(Math.round(p.lines_per_second))} lines/s`);
  if (task.state === 'STARTED' && p.eta_seconds !== null && p.eta_seconds !== undefined)
    text.push(`ETA ${duration(p.eta_seconds)}`);
  if (task.state === 'PENDING' && task.ahead !== null && task.ahead !== undefined)
    text.push(task.ahead === 0 ? 'next in its queue' : `${num(task.ahead)} ahead in its queue`);
  return h('div', {class: 'progress'}, bar, h('span', {class: 'progress-text'}, text.join(' · ')));
}

// Shows message briefly in the page's status region (read out by screen readers).
export function toast(message, kind = 'info') {
  const box = document.getElementById('toast');
  const item = h('div', {class: `toast toast-${kind}`}, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

// An error block for a failed call, with the server's message.
export function errorBox(error) {
  return h('p', {class: 'error', role: 'alert'}, error.message || String(error));
}

// A labelled form control: field('Queue', h('input', {...})) (the input gets an id).
let fieldIds = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++fieldIds}`;
  control.id = id;
  return h('div', {class: 'field'}, h('label', {for: id}, label), control,
           hint ? h('small', {class: 'hint'}, hint) : null);
}

// Asks the user to confirm in a modal <dialog>; resolves true or false.
export function confirmDialog(question, yes = 'Confirm') {
  return new Promise(resolve => {
    const dialog = h('dialog', {class: 'confirm', 'aria-labelledby': 'confirm-q'},
      h('p', {id: 'confirm-q'}, question),
      h('div', {class: 'actions'},
        h('button', {type: 'button', class: 'secondary', onclick: () => dialog.close('no')}, 'Keep it'),
        h('button', {type: 'button', class: 'danger', onclick: () => dialog.close('yes')}, yes)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'yes');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A table: columns [{label, cell(row) → node|text, class}], rows, an empty message.
export function table(columns, rows, empty, caption) {
  if (!rows.length)
    return h('p', {class: 'muted empty'}, empty);
  return h('div', {class: 'table-wrap'},
    h('table', {},
      caption ? h('caption', {class: 'visually-hidden'}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map(c => h('th', {scope: 'col', class: c.class}, c.label)))),
      h('tbody', {}, rows.map(r => h('tr', {}, columns.map(c => h('td', {class: c.class, 'data-label': c.label}, c.cell(r))))))));
}

// Previous/next paging for page (from 1) of pages; go(n) shows page n.
export function pager(page, pages, total, go, what = 'items') {
  return h('nav', {class: 'pager', 'aria-label': `Pages of ${what}`},
    h('button', {type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => go(page - 1)}, '← Previous'),
    h('span', {}, `Page ${num(page)} of ${num(Math.max(pages, 1))} · ${num(total)} ${what}`),
    h('button', {type: 'button', class: 'secondary', disabled: page >= pages, onclick: () => go(page + 1)}, 'Next →'));
}
