// The browser test: a real bulkimportd (with its embedded PostgreSQL in a fresh temp dir) and
// page.html served from another origin, opened in Debian's headless Chromium, which calls the
// API with fetch() across origins: an oclweb3-style JSON envelope upload, polling, the task
// lists and the exposed paging headers. The driver asserts the page's report, stops the server
// with SIGTERM and requires exit code 0 (so LeakSanitizer's findings fail it under ASan).
//
//   node tests/browser/run.mjs path/to/bulkimportd [extra bulkimportd flags...]
//
// harness.mjs installs the pinned playwright-core and runs the server. Exits 1 on any failure.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {CHROMIUM, Failure, ROOT_TOKEN, fail, here, log, runWithServer, setup} from './harness.mjs';

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
  const secs = await runWithServer(binary, extra, async server => {
    const pageServer = await startPageServer();
    try {
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
    } finally {
      pageServer.close();
    }
  });
  log(`all ${EXPECTED.length} checks passed in ${secs} s`);
}

main().catch(e => {
  log(`FAILED: ${e instanceof Failure ? e.message : e.stack}`);
  process.exit(1);
});
