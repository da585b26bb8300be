// The browser test: a real bulkimportd (with its embedded PostgreSQL in a fresh temp dir) and
// page.html served from another origin, opened in Debian's headless Chromium, which calls the
// API with fetch() across origins: an oclweb3-style JSON envelope upload, polling, the task
// lists and the exposed paging headers. The driver asserts the page's report, stops the server
// with SIGTERM and requires exit code 0 (so LeakSanitizer's findings fail it under ASan).
//
//   node tests/browser/run.mjs path/to/bulkimportd [extra bulkimportd flags...]
//
// playwright-core is pinned by package-lock.json and installed with `npm ci` when missing or
// stale (as scripts/lint-openapi does); Playwright's own browsers are never downloaded.
// BI_CHROMIUM overrides the browser (default /usr/bin/chromium). Exits 1 on any failure.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT_TOKEN = 'browser-test-root-token-0123456789';
const CHROMIUM = process.env.BI_CHROMIUM || '/usr/bin/chromium';
const started = Date.now();

function log(message) {
  process.stderr.write(`browser-test: ${message}\n`);
}

class Failure extends Error {}

function fail(message) {
  throw new Failure(message);
}

// Installs the pinned playwright-core unless node_modules already holds that version and is not
// older than the lock file.
function setup() {
  const lock = JSON.parse(fs.readFileSync(path.join(here, 'package-lock.json'), 'utf8'));
  const want = lock.packages['node_modules/playwright-core'].version;
  let have = null;
  try {
    have = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/playwright-core/package.json'), 'utf8')).version;
  } catch {}
  const hidden = path.join(here, 'node_modules/.package-lock.json');
  const stale = !fs.existsSync(hidden) ||
      fs.statSync(path.join(here, 'package-lock.json')).mtimeMs > fs.statSync(hidden).mtimeMs;
  if (have === want && !stale)
    return;
  log(`installing playwright-core ${want} (npm ci)`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: here, stdio: 'inherit',
    env: {...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', NO_UPDATE_NOTIFIER: '1'},
  });
  if (r.status !== 0)
    fail('cannot install the pinned playwright-core from the npm registry (see above); behind a ' +
         'TLS-intercepting proxy, give npm the proxy\'s CA, e.g. npm_config_cafile=/path/to/ca.pem');
}

let serverProc = null; // for a signal that comes while the server starts

// Starts bulkimportd on a free port and resolves with {proc, url, exited, stderr()} once it
// logs "listening on http://HOST:PORT/".
function startServer(binary, dataDir, extra) {
  const args = ['--data-dir', dataDir, '--listen', '127.0.0.1:0', '--root-token', ROOT_TOKEN,
                '--workers', '2', ...extra];
  log(`starting ${binary} ${args.join(' ')}`);
  const proc = spawn(binary, args, {stdio: ['ignore', 'inherit', 'pipe']});
  serverProc = proc;
  let stderr = '';
  const exited = new Promise(resolve => proc.on('exit', (code, signal) => resolve({code, signal})));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Failure(`bulkimportd did not listen within 60 s:\n${stderr}`));
    }, 60000);
    proc.on('error', e => { clearTimeout(timer); reject(new Failure(`cannot run ${binary}: ${e.message}`)); });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', chunk => {
      stderr += chunk;
      const m = /listening on (http:\/\/\S+?)\/?\s/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({proc, url: m[1], exited, stderr: () => stderr});
      }
    });
    exited.then(({code, signal}) => {
      clearTimeout(timer);
      reject(new Failure(`bulkimportd exited (code ${code}, signal ${signal}) before listening:\n${stderr}`));
    });
  });
}

// Serves page.html at / on another port of 127.0.0.1: another origin than the API's.
function startPageServer() {
  const page = fs.readFileSync(path.join(here, 'page.html'));
  const server = http.createServer((req, res) => {
    const where = new URL(req.url, 'http://x').pathname;
    if (req.method === 'GET' && where === '/') {
      res.writeHead(200, {'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store'});
      res.end(page);
    } else if (where === '/favicon.ico') { /* asked for by Chromium; a 404 would clutter the console */
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, {'Content-Type': 'text/plain'});
      res.end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// The checks the page must report, all passing; a page that skipped one fails too.
const EXPECTED = [
  'cross-origin',
  'GET /version/ without a token',
  'GET /user/ without a token is a readable 401',
  'POST envelope',
  'poll until SUCCESS',
  'GET ?task=ID text summary exposes X-Task-State',
  'GET /importers/bulk-import/?verbose=true',
  'GET /tasks/ID/',
  'GET /tasks/?limit=1 exposes num_found',
  'DELETE /tasks/ID/ of a finished task is a readable 400',
];

async function runPage(chromium, pageUrl) {
  if (!fs.existsSync(CHROMIUM))
    fail(`${CHROMIUM} not found: install Debian's chromium (scripts/install-deps --test)`);
  const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true});
  const consoleLines = [];
  try {
    const page = await browser.newPage();
    page.on('console', m => consoleLines.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', e => consoleLines.push(`page error: ${e.message}`));
    await page.goto(pageUrl);
    try {
      await page.waitForFunction(() => document.title === 'PASS' || document.title === 'FAIL', null,
                                 {timeout: 60000});
    } catch (e) {
      fail(`the page did not finish within 60 s (title "${await page.title()}")\n${consoleLines.join('\n')}`);
    }
    const report = JSON.parse(await page.textContent('#result'));
    return {title: await page.title(), checks: report.checks, consoleLines};
  } finally {
    await browser.close();
  }
}

async function main() {
  const [binary, ...extra] = process.argv.slice(2);
  if (!binary)
    fail('usage: node tests/browser/run.mjs path/to/bulkimportd [bulkimportd flags...]');
  setup();
  const {chromium} = await import('playwright-core');

  // The postgres user must reach the data dir inside (bulkimportd creates it 0700 and gives it
  // to postgres when run as root), so the temp dir is 0711.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bi-browser-'));
  fs.chmodSync(tmp, 0o711);
  let server = null, pageServer = null, failed = null;
  const onSignal = async sig => {
    log(`${sig}: stopping`);
    if (serverProc && serverProc.exitCode === null && serverProc.signalCode === null) {
      const gone = new Promise(resolve => serverProc.on('exit', resolve));
      serverProc.kill('SIGTERM');
      await Promise.race([gone, new Promise(resolve => setTimeout(resolve, 10000))]);
    }
    fs.rmSync(tmp, {recursive: true, force: true});
    process.exit(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    server = await startServer(binary, path.join(tmp, 'data'), extra);
    log(`bulkimportd at ${server.url} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    pageServer = await startPageServer();
    const pageUrl = `http://127.0.0.1:${pageServer.address().port}/?` +
                    new URLSearchParams({api: server.url, token: ROOT_TOKEN});
    log(`page at ${pageUrl.replace(ROOT_TOKEN, '…')}`);
    const {title, checks, consoleLines} = await runPage(chromium, pageUrl);
    for (const c of checks)
      log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    const bad = checks.filter(c => !c.ok).map(c => c.name);
    const missing = EXPECTED.filter(name => !checks.some(c => c.name === name));
    if (title !== 'PASS' || bad.length > 0 || missing.length > 0)
      fail(`the page reported ${title}; failed: ${bad.join('; ') || 'none'}; not run: ${missing.join('; ') || 'none'}` +
           (consoleLines.length ? `\nbrowser console:\n${consoleLines.join('\n')}` : ''));
  } catch (e) {
    failed = e;
  } finally {
    if (pageServer)
      pageServer.close();
    if (server) {
      server.proc.kill('SIGTERM');
      const timer = setTimeout(() => server.proc.kill('SIGKILL'), 30000);
      const {code, signal} = await server.exited;
      clearTimeout(timer);
      if (code !== 0)
        failed = new Failure(`${failed ? failed.message + '\nand ' : ''}bulkimportd exited with code ` +
                             `${code} (signal ${signal}) on SIGTERM, not 0`);
      if (failed)
        log(`bulkimportd's log:\n${server.stderr()}`);
    }
    fs.rmSync(tmp, {recursive: true, force: true});
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (failed) {
    log(`FAILED after ${secs} s: ${failed instanceof Failure ? failed.message : failed.stack}`);
    process.exit(1);
  }
  log(`all ${EXPECTED.length} checks passed in ${secs} s`);
}

main().catch(e => {
  log(`FAILED: ${e instanceof Failure ? e.message : e.stack}`);
  process.exit(1);
});
