// The console's journeys in a real browser: a real bulkimportd (embedded PostgreSQL in a temp
// dir) serving /console/, driven in Debian's headless Chromium by the pinned playwright-core,
// under the page's own Content-Security-Policy (any violation or script error fails the test).
//
//   root signs in (with the keyboard), imports a file by drag and drop, watches its progress
//   bar reach SUCCESS, filters its results to the failed lines, downloads them and checks
//   their content; cancels a second task (waiting behind a slow one in a named queue) and
//   resumes it, and sees it reach SUCCESS; pauses and resumes a feed; creates a user, is shown
//   its token and disables it (the token then answers 401); sees a user's task; the user sees
//   only its own and not root's. axe-core checks every page for serious or critical violations; the tasks page
//   must not scroll sideways at 360 px.
//
//   node tests/browser/console.mjs path/to/bulkimportd [extra bulkimportd flags...]
//
// Screenshots of each step go to BI_ARTIFACTS (default ./console-screenshots under the working
// directory). Exits 1 on any failure.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {CHROMIUM, Failure, ROOT_TOKEN, fail, here, log, runWithServer, setup} from './harness.mjs';

const ARTIFACTS = path.resolve(process.env.BI_ARTIFACTS || 'console-screenshots');
const AXE = path.join(here, 'node_modules/axe-core/axe.min.js');
const FAILED_LINES = [4, 7, 9]; /* the lines of importFile() that fail, by construction */

// An organization and a source, then concepts; the lines in FAILED_LINES are broken on purpose.
function importFile(concepts) {
  const lines = [
    {type: 'Organization', id: 'CIEL', name: 'Columbia International eHealth Laboratory'},
    {type: 'Source', id: 'CIEL', owner: 'CIEL', owner_type: 'Organization', name: 'CIEL', source_type: 'Dictionary'},
  ];
  for (let i = 1; lines.length < concepts + 2; i++)
    lines.push({type: 'Concept', id: `C${i}`, owner: 'CIEL', owner_type: 'Organization', source: 'CIEL',
                concept_class: 'Diagnosis', datatype: 'N/A',
                names: [{name: `Concept ${i}`, locale: 'en', name_type: 'FULLY_SPECIFIED', locale_preferred: true}]});
  const text = lines.map(l => JSON.stringify(l));
  text[FAILED_LINES[0] - 1] = '{"type": "Concept", "id": "broken json", ';
  text[FAILED_LINES[1] - 1] = JSON.stringify({type: 'Kite', id: 'K1'});
  text[FAILED_LINES[2] - 1] = JSON.stringify({type: 'Concept', id: 'no-owner', source: 'CIEL'});
  return text.join('\n') + '\n';
}

async function api(server, token, method, url, body) {
  const response = await fetch(server.url + url, {
    method, headers: {Authorization: `Token ${token}`, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)});
  const text = await response.text();
  if (!response.ok)
    fail(`${method} ${url}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A file server whose /slow.jsonl sends its first line and then holds the rest until release().
function startSlowServer() {
  let release;
  const released = new Promise(resolve => { release = resolve; });
  const server = http.createServer(async (req, res) => {
    res.writeHead(200, {'Content-Type': 'application/x-ndjson'});
    res.write(JSON.stringify({type: 'Organization', id: 'SLOW', name: 'Slow'}) + '\n');
    await released;
    res.end(JSON.stringify({type: 'Organization', id: 'SLOW2', name: 'Slow too'}) + '\n');
  });
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve({server, release})));
}

class Journey {
  constructor(browser, server) {
    this.browser = browser;
    this.server = server;
    this.problems = [];
    this.shots = 0;
    this.axeChecked = [];
  }

  async open(name, options = {}) {
    const context = await this.browser.newContext({acceptDownloads: true, viewport: {width: 1280, height: 900}, ...options});
    await context.addInitScript({path: AXE});
    const page = await context.newPage();
    page.on('console', m => {
      if (m.type() === 'error' && !/status of (401|404|400)/.test(m.text()))
        this.problems.push(`${name}: console.error: ${m.text()}`);
    });
    page.on('pageerror', e => this.problems.push(`${name}: page error: ${e.message}`));
    await page.goto(`${this.server.url}/`);
    return page;
  }

  async shot(page, name, fullPage = true) {
    const file = path.join(ARTIFACTS, `${String(++this.shots).padStart(2, '0')}-${name}.png`);
    await page.screenshot({path: file, fullPage});
    log(`screenshot ${path.basename(file)}`);
  }

  // axe-core on the page as it is: no serious or critical violation.
  async axe(page, name) {
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, {resultTypes: ['violations']});
      return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                         .map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`);
    });
    if (result.length)
      this.problems.push(`axe on ${name}:\n  ${result.join('\n  ')}`);
    this.axeChecked.push(name);
  }

  async signIn(page, token) {
    await page.getByLabel('API token').waitFor();
    await page.keyboard.type(token); /* the field has the focus */
    await page.keyboard.press('Enter');
    await page.locator('#who-name').waitFor({state: 'visible'});
  }
}

async function expectText(locator, re, what, timeout = 30000) {
  try {
    await locator.filter({hasText: re}).first().waitFor({timeout});
  } catch {
    fail(`${what}: no ${re} within ${timeout / 1000} s; saw "${(await locator.allTextContents()).join(' | ').slice(0, 500)}"`);
  }
}

// The feed made in main(): pause it, see it paused, resume it, open its (empty) runs.
async function feedActions(page) {
  const row = page.locator('tbody tr', {hasText: 'nightly'});
  await row.getByRole('button', {name: 'Pause'}).click();
  await expectText(row.locator('td'), /paused/, 'the paused feed');
  await row.getByRole('button', {name: 'Resume'}).click();
  await row.getByRole('button', {name: 'Pause'}).waitFor();
  await row.getByRole('button', {name: 'Runs'}).click();
  await expectText(row.locator('.runs'), /No runs yet/, 'the feed\'s runs');
}

// Root creates zed, is shown its token once, and disables it: the token stops working.
async function userActions(j, page) {
  await expectText(page.locator('td'), /ann/, 'ann in the users list');
  await page.getByLabel('New user').fill('zed');
  await page.getByRole('button', {name: 'Create'}).click();
  const shown = page.getByLabel('Token of zed');
  await shown.waitFor();
  const token = await shown.inputValue();
  const before = await fetch(`${j.server.url}/user/`, {headers: {Authorization: `Token ${token}`}});
  if (before.status !== 200)
    fail(`zed's new token answers ${before.status}`);
  const row = page.locator('tbody tr', {hasText: 'zed'});
  await row.getByRole('button', {name: 'Disable'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Disable'}).click();
  await expectText(row.locator('td'), /disabled/, 'zed disabled');
  const after = await fetch(`${j.server.url}/user/`, {headers: {Authorization: `Token ${token}`}});
  if (after.status !== 401)
    fail(`zed's token answers ${after.status} once zed is disabled, not 401`);
}

async function rootJourney(j, ann) {
  const page = await j.open('root');
  await j.axe(page, 'sign-in');
  await j.shot(page, 'sign-in');

  // A wrong token is refused on the page, and the form stays.
  await page.getByLabel('API token').fill('not-a-token-000000000000');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await expectText(page.locator('.error'), /not accepted/, 'a wrong token');
  await page.getByLabel('API token').fill('');
  await j.signIn(page, ROOT_TOKEN);
  await expectText(page.locator('h1'), /All tasks/, 'root\'s tasks page');
  await expectText(page.locator('td'), /ann/, 'root sees ann\'s task');
  await j.axe(page, 'tasks');
  await j.shot(page, 'tasks-root');

  // New import by drag and drop.
  await page.getByRole('link', {name: 'New import'}).first().click();
  await page.locator('#drop').waitFor();
  await j.axe(page, 'new import');
  const file = importFile(3000);
  const drop = await page.evaluateHandle(text => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'ciel.jsonl', {type: 'application/x-ndjson'}));
    return dt;
  }, file);
  await page.dispatchEvent('#drop', 'drop', {dataTransfer: drop});
  await expectText(page.locator('.chosen'), /ciel\.jsonl/, 'the dropped file');
  await j.shot(page, 'new-import-dropped');
  await page.getByRole('button', {name: 'Import'}).click();
  await page.waitForURL(/#\/tasks\/.+/, {timeout: 30000});
  const taskId = decodeURIComponent(page.url().split('#/tasks/')[1]);
  log(`imported as ${taskId}`);
  await expectText(page.locator('.badge'), /SUCCESS/, 'the import reaching SUCCESS', 120000);
  const bar = page.locator('.progress progress').first();
  const [value, max] = [await bar.getAttribute('value'), await bar.getAttribute('max')];
  if (Number(value) !== 3002 || Number(max) !== 3002)
    fail(`the progress bar at SUCCESS is ${value}/${max}, not 3002/3002`);
  await expectText(page.locator('.tile'), /Failed\s*3/, 'the failed count');
  await expectText(page.locator('.chart-label'), /^3,002 lines/, 'the chart of the lines committed');
  await page.locator('.results table').waitFor();
  await j.axe(page, 'task');
  await j.shot(page, 'task-success');
  await j.shot(page, 'task-success-top', false);

  // Its results, filtered to the failed lines.
  await page.getByLabel('Status', {exact: true}).selectOption('failed');
  await page.getByRole('button', {name: 'Show'}).click();
  await expectText(page.locator('.results .pager'), /· 3 results/, 'the failed filter\'s count');
  const lines = (await page.locator('.results tbody tr td:first-child').allTextContents()).map(s => Number(s.replace(/\D/g, '')));
  if (JSON.stringify(lines) !== JSON.stringify(FAILED_LINES))
    fail(`the failed lines shown are ${lines}, not ${FAILED_LINES}`);
  await j.shot(page, 'task-failed-lines');

  // The failed lines' download: each line as it was given, with its reason.
  const [download] = await Promise.all([page.waitForEvent('download'),
                                        page.getByRole('button', {name: 'Download failed lines'}).click()]);
  const saved = path.join(ARTIFACTS, 'failed-lines.jsonl');
  await download.saveAs(saved);
  const got = fs.readFileSync(saved, 'utf8').trim().split('\n').map(l => JSON.parse(l));
  if (got.length !== 3 || JSON.stringify(got.map(l => l.__error.line)) !== JSON.stringify(FAILED_LINES) ||
      !got.every(l => l.__error.message) || got[1].type !== 'Kite' || got[0].__line !== file.split('\n')[3])
    fail(`the failed lines' download is wrong: ${JSON.stringify(got).slice(0, 600)}`);

  // A second task waits behind a slow one in a named queue: cancel it, resume it, see it end.
  const slow = await startSlowServer();
  try {
    const blocker = await api(j.server, ROOT_TOKEN, 'POST', '/manage/bulkimport/inorder/',
                              {file_url: `http://127.0.0.1:${slow.server.address().port}/slow.jsonl`});
    await page.getByRole('link', {name: 'New import'}).first().click();
    await page.getByLabel('Or paste lines').fill(JSON.stringify({type: 'Organization', id: 'SECOND', name: 'Second'}));
    await page.getByLabel('Queue', {exact: true}).fill('inorder');
    await page.getByRole('button', {name: 'Import'}).click();
    await page.waitForURL(/#\/tasks\/.+inorder/, {timeout: 30000});
    await expectText(page.locator('.badge'), /PENDING/, 'the second task waiting');
    await expectText(page.locator('.progress-text'), /next in its queue|ahead in its queue/, 'its place in the queue');
    await j.shot(page, 'task-pending');
    await page.getByRole('button', {name: 'Cancel'}).click();
    await j.axe(page, 'confirm dialog');
    await page.getByRole('dialog').getByRole('button', {name: 'Cancel task'}).click();
    await expectText(page.locator('.badge'), /REVOKED/, 'the cancelled task');
    await page.locator('.chart, #chart-h + p').first().waitFor();
    await j.shot(page, 'task-cancelled');
    await page.getByRole('button', {name: 'Resume'}).click();
    await page.getByRole('dialog').getByRole('button', {name: 'Resume task'}).click();
    await expectText(page.locator('.badge'), /PENDING/, 'the resumed task');
    slow.release();
    await expectText(page.locator('.badge'), /SUCCESS/, 'the resumed task ending', 60000);
    const blocked = await api(j.server, ROOT_TOKEN, 'GET', `/tasks/${encodeURIComponent(blocker.task || blocker.id)}/`);
    if (blocked.state !== 'SUCCESS')
      fail(`the slow task is ${blocked.state}, not SUCCESS`);
  } finally {
    slow.release();
    slow.server.close();
  }

  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Tasks'}).click();
  await page.locator('tbody tr').nth(3).waitFor();
  await j.shot(page, 'tasks-root-after');

  // Root's other pages, each checked by axe.
  for (const [link, heading, name] of [['Queues', /Queues/, 'queues'], ['Feeds', /Feeds/, 'feeds'], ['Users', /Users/, 'users']]) {
    await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: link}).click();
    await expectText(page.locator('h1'), heading, `the ${name} page`);
    if (name === 'queues')
      await page.locator('h2', {hasText: 'Nodes'}).waitFor();
    if (name === 'feeds')
      await feedActions(page);
    if (name === 'users')
      await userActions(j, page);
    await j.axe(page, name);
    await j.shot(page, name);
  }

  // Root filters the tasks to ann's.
  await page.goto(`${j.server.url}/console/#/tasks?user=ann`);
  await expectText(page.locator('td'), /ann/, 'ann\'s task under the user filter');
  const users = new Set(await page.locator('tbody td[data-label="User"]').allTextContents());
  if (users.size !== 1 || !users.has('ann'))
    fail(`root's ann filter shows tasks of ${[...users]}`);
  await page.locator('#sign-out').click();
  await page.getByLabel('API token').waitFor();
  await page.context().close();
  return taskId;
}

async function annJourney(j, ann, rootTaskId) {
  const page = await j.open('ann', {viewport: {width: 360, height: 800}, colorScheme: 'dark'});
  await j.signIn(page, ann.token);
  await expectText(page.locator('h1'), /Your tasks/, 'ann\'s tasks page');
  await page.locator('tbody tr').first().waitFor();
  const users = new Set(await page.locator('tbody td[data-label="User"]').allTextContents());
  if (users.size !== 1 || !users.has('ann'))
    fail(`ann's list shows tasks of ${[...users]}`);
  if (await page.locator('[data-root]').isVisible())
    fail('ann sees the Users link');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 361)
    fail(`the tasks page scrolls sideways at 360 px (${wide} px wide)`);
  await j.axe(page, 'tasks at 360 px, dark');
  await j.shot(page, 'tasks-ann-360-dark');
  await page.goto(`${j.server.url}/console/#/tasks/${encodeURIComponent(rootTaskId)}`);
  await expectText(page.locator('.error'), /No such task, or not yours/, 'root\'s task as ann');
  await page.context().close();
}

async function main() {
  const [binary, ...extra] = process.argv.slice(2);
  if (!binary)
    fail('usage: node tests/browser/console.mjs path/to/bulkimportd [bulkimportd flags...]');
  setup();
  const {chromium} = await import('playwright-core');
  fs.rmSync(ARTIFACTS, {recursive: true, force: true});
  fs.mkdirSync(ARTIFACTS, {recursive: true});
  const secs = await runWithServer(binary, ['--fetch-allow-private', ...extra], async server => {
    const page = await fetch(`${server.url}/console/`);
    const csp = page.headers.get('content-security-policy') || '';
    if (page.status !== 200 || !csp.includes("script-src 'self'") || csp.includes('unsafe-inline'))
      fail(`/console/ answered ${page.status} with CSP "${csp}"`);
    const ann = await api(server, ROOT_TOKEN, 'POST', '/users/', {username: 'ann'});
    const annTask = await api(server, ann.token, 'POST', '/manage/bulkimport/',
                              JSON.stringify({type: 'Organization', id: 'ANN', name: 'Ann\'s'}) + '\n');
    log(`ann's task ${annTask.task}`);
    await api(server, ROOT_TOKEN, 'POST', '/manage/feeds/',
              {name: 'nightly', url: 'http://127.0.0.1:9/never.jsonl', schedule: '1d'});
    const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true});
    const j = new Journey(browser, server);
    try {
      const rootTask = await rootJourney(j, ann);
      await annJourney(j, ann, rootTask);
    } finally {
      await browser.close();
    }
    if (j.problems.length)
      fail(`the console had problems:\n${j.problems.join('\n')}`);
    log(`axe found no serious or critical violation on: ${j.axeChecked.join(', ')}`);
  });
  log(`all console journeys passed in ${secs} s; screenshots in ${ARTIFACTS}`);
}

main().catch(e => {
  log(`FAILED: ${e instanceof Failure ? e.message : e.stack}`);
  process.exit(1);
});
