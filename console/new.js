// new.js — a new import: a file dropped or picked (any format the server takes: JSON lines,
// CSV, ZIP, gzip, an OCL export), lines pasted, or a URL; its options; upload progress; then
// the task's page.
import {upload} from './api.js';
import {field, h, num} from './ui.js';

// The new-import form; on success the page moves to the new task's.
export async function renderNew(main, _args, ctx) {
  document.title = 'New import · bulkimport';
  let file = null;
  const picker = h('input', {type: 'file', name: 'file', class: 'visually-hidden',
                             accept: '.json,.jsonl,.ndjson,.csv,.zip,.gz,.txt,application/json,text/csv,application/zip'});
  const chosen = h('p', {class: 'chosen', 'aria-live': 'polite'}, 'No file chosen.');
  const drop = h('div', {class: 'drop', id: 'drop'},
    h('p', {}, h('strong', {}, 'Drop a file here'), ' or ',
      h('label', {for: 'file-pick', class: 'button secondary'}, 'choose one')),
    chosen);
  picker.id = 'file-pick';
  const choose = f => {
    file = f;
    chosen.textContent = f ? `${f.name} · ${num(f.size)} bytes` : 'No file chosen.';
  };
  picker.addEventListener('change', () => choose(picker.files[0] || null));
  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length)
      choose(e.dataTransfer.files[0]);
  });
  const pasted = h('textarea', {name: 'lines', rows: 6, spellcheck: 'false',
                                placeholder: '{"type": "Concept", "id": "A1", ...}'});
  const url = h('input', {name: 'file_url', type: 'url', placeholder: 'https://example.org/export.json'});
  const queue = h('input', {name: 'queue', placeholder: 'default (standard queue)', pattern: '[\\w.@+\\-]*'});
  const batch = h('input', {name: 'batch_size', type: 'number', min: 1, max: 100000, placeholder: '1000'});
  const check = (name, label, checked) => h('div', {class: 'check'},
    h('input', {type: 'checkbox', id: `opt-${name}`, name, checked}), h('label', {for: `opt-${name}`}, label));
  const bar = h('progress', {max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress'});
  const status = h('p', {role: 'status'});
  const form = h('form', {class: 'card new-import', 'aria-labelledby': 'new-h'},
    h('h1', {id: 'new-h'}, 'New import'),
    h('fieldset', {}, h('legend', {}, 'What to import (one of)'),
      drop, picker, field('Or paste lines', pasted), field('Or a URL to fetch', url)),
    h('fieldset', {}, h('legend', {}, 'Options'),
      field('Queue', queue, 'A named queue runs its tasks one at a time, in order.'),
      field('Batch size', batch, 'Lines per transaction.'),
      check('update_if_exists', 'Update resources that exist', true),
      check('test_mode', 'Test mode (check every line, write nothing)', false)),
    h('button', {type: 'submit'}, 'Import'), bar, status);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const body = new FormData();
    const given = [file, pasted.value.trim(), url.value.trim()].filter(Boolean).length;
    if (given !== 1) {
      status.textContent = given ? 'Give only one of a file, pasted lines or a URL.' : 'Give a file, lines or a URL.';
      status.className = 'error';
      return;
    }
    if (file)
      body.append('file', file, file.name);
    else if (pasted.value.trim())
      body.append('file', new Blob([pasted.value.trim() + '\n'], {type: 'application/x-ndjson'}), 'pasted.jsonl');
    else
      body.append('file_url', url.value.trim());
    body.append('update_if_exists', String(form.elements.update_if_exists.checked));
    body.append('test_mode', String(form.elements.test_mode.checked));
    if (batch.value)
      body.append('batch_size', batch.value);
    const path = queue.value.trim() ? `/manage/bulkimport/${encodeURIComponent(queue.value.trim())}/` : '/manage/bulkimport/';
    bar.hidden = false;
    status.className = '';
    status.textContent = 'Uploading…';
    form.querySelector('button[type=submit]').disabled = true;
    try {
      const task = await upload(path, body, (sent, total) => {
        bar.max = total || 1;
        bar.value = total ? sent : 0;
        status.textContent = total ? `Uploading… ${Math.floor(sent / total * 100)} %` : 'Uploading…';
      });
      status.textContent = 'Queued.';
      if (!ctx.signal.aborted) /* the user went elsewhere meanwhile: stay there */
        ctx.navigate(`#/tasks/${encodeURIComponent(task.id || task.task)}`);
    } catch (err) {
      status.className = 'error';
      status.textContent = err.message;
      form.querySelector('button[type=submit]').disabled = false;
    }
  });
  main.append(form);
}
