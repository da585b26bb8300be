// harness.mjs — what the browser tests share: the pinned playwright-core (npm ci when missing
// or stale; Playwright's own browsers are never downloaded), a real bulkimportd with its
// embedded PostgreSQL in a fresh temp dir, and a clean stop that requires exit code 0 (so
// LeakSanitizer's findings fail the test under ASan). BI_CHROMIUM overrides the browser
// (default /usr/bin/chromium).
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT_TOKEN = 'browser-test-root-token-0123456789';
export const CHROMIUM = process.env.BI_CHROMIUM || '/usr/bin/chromium';
export const started = Date.now();

export function log(message) {
  process.stderr.write(`browser-test: ${message}\n`);
}

export class Failure extends Error {}

export function fail(message) {
  throw new Failure(message);
}

// Installs the pinned packages (playwright-core, axe-core) unless node_modules already holds
// each at its locked version and is not older than the lock file.
export function setup() {
  const lock = JSON.parse(fs.readFileSync(path.join(here, 'package-lock.json'), 'utf8'));
  const pinned = Object.entries(lock.packages).filter(([where]) => where.startsWith('node_modules/'));
  const installed = ([where, {version}]) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(here, where, 'package.json'), 'utf8')).version === version;
    } catch {
      return false;
    }
  };
  const hidden = path.join(here, 'node_modules/.package-lock.json');
  const stale = !fs.existsSync(hidden) ||
      fs.statSync(path.join(here, 'package-lock.json')).mtimeMs > fs.statSync(hidden).mtimeMs;
  if (pinned.every(installed) && !stale)
    return;
  const want = pinned.map(([where, {version}]) => `${where.slice(13)} ${version}`).join(', ');
  log(`installing ${want} (npm ci)`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: here, stdio: 'inherit',
    env: {...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', NO_UPDATE_NOTIFIER: '1'},
  });
  if (r.status !== 0)
    fail('cannot install the pinned packages from the npm registry (see above); behind a ' +
         'TLS-intercepting proxy, give npm the proxy\'s CA, e.g. npm_config_cafile=/path/to/ca.pem');
}

let serverProc = null; // for a signal that comes while the server starts

// Starts bulkimportd on a free port and resolves with {proc, url, exited, stderr()} once it
// logs "listening on http://HOST:PORT/".
export function startServer(binary, dataDir, extra) {
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

// Runs body(server, tmp) against a bulkimportd started with extra flags, then stops it with
// SIGTERM and requires exit code 0; prints the server's log on any failure. Exits the process
// with 1 on failure; returns the seconds it took.
export async function runWithServer(binary, extra, body) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bi-browser-'));
  // The postgres user must reach the data dir inside (bulkimportd creates it 0700 and gives it
  // to postgres when run as root), so the temp dir is 0711.
  fs.chmodSync(tmp, 0o711);
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
  let server = null, failed = null;
  try {
    server = await startServer(binary, path.join(tmp, 'data'), extra);
    log(`bulkimportd at ${server.url} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    await body(server, tmp);
  } catch (e) {
    failed = e;
  } finally {
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
  return secs;
}
