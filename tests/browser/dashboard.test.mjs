// Browser test of the dashboard: the real `powerdialer serve` on a loopback
// port with a fresh database and a fast simulated contact centre, driven
// through Debian's chromium by playwright-core (no downloaded browser).
//
//   POWERDIALER_BIN   the binary (default: build/powerdialer)
//   ARTIFACT_DIR      where dashboard.png, dashboard-ended.png, the server log and, on failure,
//                     failure.png go (default: build)
//   CHROMIUM          the browser (default: /usr/bin/chromium)
//
// Run with scripts/browser-test, or `ctest -R browser_dashboard`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const BIN = process.env.POWERDIALER_BIN || path.join(repo, 'build', 'powerdialer');
const ARTIFACT_DIR = path.resolve(process.env.ARTIFACT_DIR || path.join(repo, 'build'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CAMPAIGN = 'browser-spring';
const OTHER_CAMPAIGN = 'browser-winter';
const ROWS = 50;
// The longest name the API takes (64): the sidebar must show it whole.
const LONG_CAMPAIGN = `browser-${'autumn-renewals-'.repeat(4)}`.slice(0, 64);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A list of ROWS good customers plus one row that must be rejected.
function makeList() {
  const lines = ['custID,phone,name'];
  for (let i = 0; i < ROWS; i++) {
    lines.push(`B${String(i).padStart(3, '0')},+1 202 555 ${String(100 + i).padStart(4, '0')},Customer ${i}`);
  }
  lines.push('BAD1,12,Too short');  // line ROWS + 2
  return `${lines.join('\n')}\n`;
}

async function waitForHttp(url, server, log, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`powerdialer serve exited with ${server.exitCode}:\n${readFileSync(log, 'utf8')}`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error(`powerdialer serve did not answer on ${url}:\n${readFileSync(log, 'utf8')}`);
}

async function stopServer(server) {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

// The number shown in a data-testid element ("1,234" -> 1234; "–" -> NaN).
async function numberIn(page, testid) {
  const text = await page.getByTestId(testid).textContent();
  return Number(String(text).replace(/[^\d.-]/g, '') || NaN);
}

test('dashboard: sign in, create, upload, start, live numbers, stop, download', { timeout: 240000 }, async () => {
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  rmSync(path.join(ARTIFACT_DIR, 'failure.png'), { force: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'pd-browser-'));
  const db = path.join(dir, 'dialer.db');
  const listFile = path.join(dir, 'customers.csv');
  writeFileSync(listFile, makeList());
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serverLog = path.join(ARTIFACT_DIR, 'dashboard-server.log');

  // `serve` and `token create` need an existing database: `init` makes it,
  // with a first campaign that the dashboard must list too.
  execFileSync(BIN, ['--db', db, '--campaign', OTHER_CAMPAIGN, 'init'], { stdio: 'ignore' });
  const token = execFileSync(BIN, ['--db', db, 'token', 'create'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim().split(/\s+/).pop();
  assert.ok(token && token.length >= 16, `token from 'token create': ${token}`);

  const server = spawn(BIN, [
    '--db', db, 'serve', '--listen', `127.0.0.1:${port}`,
    '--agents', '5', '--talk-mean', '2s', '--acw-mean', '1s', '--ring-timeout', '3s', '--answer-rate', '0.7',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logStream = createWriteStream(serverLog);
  server.stdout.pipe(logStream);
  server.stderr.pipe(logStream);

  let browser;
  let page;
  try {
    await waitForHttp(`${base}/`, server, serverLog);
    const created = await fetch(`${base}/api/campaigns`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: LONG_CAMPAIGN }),
    });
    const createdBody = await created.text();
    assert.equal(created.status, 201, createdBody);
    // The API says which contact centre the campaign dials.
    assert.equal(JSON.parse(createdBody).backend, 'sim');

    // The page is served by the binary itself, whole and offline.
    for (const [p, type] of [['/', 'text/html'], ['/app.js', 'javascript'], ['/style.css', 'text/css']]) {
      const res = await fetch(base + p);
      assert.equal(res.status, 200, p);
      assert.match(res.headers.get('content-type') || '', new RegExp(type), p);
    }

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      headless: true,
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
    page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The page must work under its Content-Security-Policy.
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
    });
    // Offline: nothing but the dialer itself may be asked for anything.
    const foreign = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!['blob:', 'data:'].includes(u.protocol) && u.origin !== base) foreign.push(r.url());
    });

    await page.goto(`${base}/`);

    // A wrong token is refused with a message; the right one signs in.
    await page.getByTestId('signin-token').fill('not-a-token');
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('signin-error').filter({ hasText: /not accepted/ }).waitFor();
    await page.getByTestId('signin-token').fill(token);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('campaign-list').waitFor();
    await page.getByTestId('connection-status').filter({ hasText: 'Live' }).waitFor({ timeout: 15000 });
    await page.getByTestId(`campaign-item-${OTHER_CAMPAIGN}`).waitFor();

    // A long name is shown whole in the sidebar (wrapped, not cut off).
    const longName = page.getByTestId(`campaign-item-${LONG_CAMPAIGN}`).locator('.ci-name');
    assert.equal(await longName.textContent(), LONG_CAMPAIGN);
    const cut = await longName.evaluate((el) => el.scrollWidth > el.clientWidth + 1
      || el.getBoundingClientRect().right > el.closest('.campaign-item').getBoundingClientRect().right);
    assert.equal(cut, false, 'the long campaign name is cut off');

    // Create a campaign.
    await page.getByTestId('new-campaign-name').fill(CAMPAIGN);
    await page.getByTestId('new-campaign-submit').click();
    await page.getByTestId(`campaign-item-${CAMPAIGN}`).waitFor();
    await page.getByTestId('campaign-title').filter({ hasText: CAMPAIGN }).waitFor();
    // The page says whether this campaign rings real phones.
    await page.locator('[data-testid="campaign-backend"][data-backend="sim"]').waitFor();
    assert.match(await page.getByTestId('campaign-backend').textContent(), /Simulator/);
    assert.equal(await page.getByTestId('start-button').isDisabled(), true, 'start needs a list');
    assert.equal(await page.getByTestId('stop-button').isDisabled(), true, 'stop needs a running campaign');

    // Config: a bad value is refused naming the key; a good one is saved.
    await page.locator('[data-testid="config-details"] > summary').click();
    const maxAttempts = page.getByTestId('config-max-attempts');
    await maxAttempts.waitFor();
    await maxAttempts.fill('lots');
    await page.getByTestId('config-save').click();
    await page.getByTestId('config-error').filter({ hasText: 'max-attempts' }).waitFor();
    assert.equal(await maxAttempts.getAttribute('aria-invalid'), 'true');
    await maxAttempts.fill('2');
    await page.getByTestId('config-save').click();
    await page.locator('#config-status').filter({ hasText: /Saved/ }).waitFor();
    assert.equal(await page.getByTestId('config-error').textContent(), '');

    // Keys with known values are choices, not free text.
    for (const [key, values] of [['traffic-type', ['GENERAL', 'CAMPAIGN']],
      ['answering-machine-detection', ['off', 'on', 'on-await-prompt']]]) {
      const field = page.getByTestId(`config-${key}`);
      assert.equal(await field.evaluate((el) => el.tagName), 'SELECT', `${key} is a select`);
      const options = await field.locator('option').evaluateAll((os) => os.map((o) => o.value));
      for (const v of values) assert.ok(options.includes(v), `${key} offers ${v}: ${options}`);
    }
    await page.getByTestId('config-traffic-type').selectOption('CAMPAIGN');
    await page.getByTestId('config-save').click();
    await page.locator('#config-status').filter({ hasText: /Saved traffic-type/ }).waitFor();
    assert.equal(await page.getByTestId('config-traffic-type').inputValue(), 'CAMPAIGN');
    // Calls at any hour: this test is not about calling windows
    // (tests/e2e/test_compliance.py is), so it must pass whenever it runs.
    await page.getByTestId('config-calling-hours').fill('00:00-24:00');
    await page.getByTestId('config-save').click();
    await page.locator('#config-status').filter({ hasText: /Saved calling-hours/ }).waitFor();

    // Pacing: the card shows the mode and the abandon rates against the
    // target; its control changes the mode through the API, which refuses
    // what `config set` refuses (naming the key).
    await page.getByTestId('pacing-mode').filter({ hasText: 'power' }).waitFor();
    assert.equal(await page.getByTestId('pacing-target').textContent(), '2.5% (3.0%)');
    assert.equal(await page.getByTestId('pacing-today').textContent(), '0.0%');
    assert.equal(await page.getByTestId('pacing-lines').textContent(), '–', 'no level while not dialling');
    await page.getByTestId('pacing-select').evaluate((el) => {
      el.append(new Option('turbo', 'turbo'));
      el.value = 'turbo';
    });
    await page.getByTestId('pacing-apply').click();
    await page.getByTestId('pacing-error').filter({ hasText: /pacing/ }).waitFor();
    assert.match(await page.getByTestId('pacing-error').textContent(), /progressive/, 'the error lists the modes');
    assert.equal(await page.getByTestId('pacing-select').getAttribute('aria-invalid'), 'true');
    await page.getByTestId('pacing-select').selectOption('progressive');
    await page.getByTestId('pacing-apply').click();
    await page.getByTestId('pacing-mode').filter({ hasText: 'progressive' }).waitFor();
    assert.equal(await page.getByTestId('pacing-error').textContent(), '');
    const cfg = await (await fetch(`${base}/api/campaigns/${CAMPAIGN}/config`,
      { headers: { Authorization: `Bearer ${token}` } })).json();
    assert.equal(cfg.config.pacing, 'progressive', 'the control went through the API');
    // Back to power: five agents and a 70% answer rate over-dialled would
    // abandon calls, and reach max-abandon-rate, in a test about the page.
    await page.getByTestId('pacing-select').selectOption('power');
    await page.getByTestId('pacing-apply').click();
    await page.getByTestId('pacing-mode').filter({ hasText: 'power' }).waitFor();

    // Upload the list: loaded and rejected counts, the reject with its line.
    await page.getByTestId('upload-input').setInputFiles(listFile);
    await page.getByTestId('upload-loaded').waitFor();
    assert.equal(await numberIn(page, 'upload-loaded'), ROWS);
    assert.equal(await numberIn(page, 'upload-rejected'), 1);
    const firstReject = page.locator('[data-testid="upload-rejects"] tbody tr').first().locator('td');
    assert.equal((await firstReject.nth(0).textContent()).trim(), String(ROWS + 2), 'line of the reject');
    assert.match(await firstReject.nth(1).textContent(), /12/, 'reason of the reject');
    await page.getByTestId('list-customers').filter({ hasText: String(ROWS) }).waitFor();

    // Start: the live numbers move without a reload.
    await page.getByTestId('start-button').click();
    await page.locator('[data-testid="campaign-state"][data-state="running"]').waitFor({ timeout: 15000 });
    // A live-feed snapshot taken just before the start may still say idle
    // for up to a second: wait for the page to settle on running.
    await page.waitForFunction(
      () => document.querySelector('[data-testid="start-button"]').disabled,
      null, { timeout: 15000 });
    assert.equal(await page.getByTestId('start-button').isDisabled(), true, 'start while running');
    await page.waitForFunction(() => {
      const n = Number(document.querySelector('[data-testid="stat-dials"]').textContent.replace(/\D/g, ''));
      return n >= 5;
    }, null, { timeout: 30000 });
    const dials1 = await numberIn(page, 'stat-dials');
    await page.waitForFunction((before) => {
      const n = Number(document.querySelector('[data-testid="stat-dials"]').textContent.replace(/\D/g, ''));
      return n > before;
    }, dials1, { timeout: 30000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="chart"]').dataset.dials || 0) > 0,
      null, { timeout: 15000 });
    assert.match(await page.getByTestId('abandon-rate').textContent(), /^(\d+\.\d%|–)$/);
    assert.match(await page.getByTestId('agents-available').textContent(), /^\d+$/);
    // While it dials, the pacing card shows the pacer's live level.
    await page.waitForFunction(() => /^\d+\.\d\d$/.test(
      document.querySelector('[data-testid="pacing-lines"]').textContent), null, { timeout: 15000 });
    assert.equal(await page.getByTestId('pacing-mode').textContent(), 'power');
    // Live and final figures are told apart.
    assert.equal(await page.getByTestId('scope-connects').textContent(), 'live');
    // Calls in progress is the sum of its parts, sampled while calls come and go.
    for (let i = 0; i < 10; i++) {
      const shown = await page.evaluate(() => {
        const foot = document.querySelector('[data-testid="stat-inflight-foot"]');
        const total = Number(document.querySelector('[data-testid="stat-inflight"]').textContent.replace(/\D/g, ''));
        const parts = [...foot.textContent.matchAll(/(\d+) (dialling|with an agent|placing)/g)].map((m) => Number(m[1]));
        return { total, parts, text: foot.textContent };
      });
      if (!shown.parts.length) break;  // the list ran out
      assert.equal(shown.parts.reduce((a, b) => a + b, 0), shown.total, `calls in progress: ${JSON.stringify(shown)}`);
      // So do the list's: waiting + being called + reached + out of attempts.
      const list = await page.evaluate(() => Object.fromEntries(
        ['customers', 'pending', 'inflight', 'reached', 'exhausted'].map((k) => [k,
          Number(document.querySelector(`[data-testid="list-${k}"]`).textContent.replace(/\D/g, ''))])));
      assert.equal(list.pending + list.inflight + list.reached + list.exhausted, list.customers, `list progress: ${JSON.stringify(list)}`);
      await sleep(150);
    }
    await page.screenshot({ path: path.join(ARTIFACT_DIR, 'dashboard.png'), fullPage: true });

    // Stop (unless the list already ran out), and wait until it has stopped.
    const state = await page.getByTestId('campaign-state').getAttribute('data-state');
    if (state === 'running') {
      await page.getByTestId('stop-button').click();
    }
    await page.locator('[data-testid="campaign-state"][data-state="stopped"], [data-testid="campaign-state"][data-state="done"]')
      .waitFor({ timeout: 60000 });
    assert.equal(await page.getByTestId('stop-button').isDisabled(), true, 'stop when stopped');
    assert.equal(await page.getByTestId('scope-connects').textContent(), 'final');
    // The compliance card: every rule, and the audit's verdict in words.
    await page.getByTestId('compliance-verdict').filter({ hasText: /no violations/ }).waitFor({ timeout: 15000 });
    assert.equal(await page.locator('[data-testid="compliance"] tbody tr').count(), 5);
    await page.screenshot({ path: path.join(ARTIFACT_DIR, 'dashboard-ended.png') });
    // Stopped is not an error: its badge is neutral, not red.
    const stoppedBadge = await page.evaluate(() => {
      const b = document.createElement('span');
      b.className = 'badge state-stopped';
      document.body.append(b);
      const [r, g] = getComputedStyle(b).backgroundColor.match(/\d+/g).map(Number);
      b.remove();
      return { r, g };
    });
    assert.ok(stoppedBadge.r - stoppedBadge.g < 20, `stopped badge looks like an error: ${JSON.stringify(stoppedBadge)}`);
    if (await page.getByTestId('campaign-state').getAttribute('data-state') === 'stopped') {
      assert.match(await page.getByTestId('campaign-state').getAttribute('class'), /\bstate-stopped\b/);
    }

    // Download the results through the page (fetch with the token -> Blob).
    const downloadPromise = page.waitForEvent('download');
    await page.getByTestId('download-button').click();
    const download = await downloadPromise;
    const csvPath = path.join(ARTIFACT_DIR, 'dashboard-results.csv');
    await download.saveAs(csvPath);
    const csv = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
    assert.equal(csv[0], 'campaign,cust_id,phone,attempt,started_at,answered_at,ended_at,outcome,'
      + 'disconnect_reason,contact_id,agent_id,disposition,callee_timezone,rule');
    assert.ok(csv.length - 1 >= 5, `results rows: ${csv.length - 1}`);
    for (const row of csv.slice(1)) {
      assert.ok(row.startsWith(`${CAMPAIGN},B`), row);
      assert.match(row, /,\+1202555\d{4},/);
    }

    assert.deepEqual(pageErrors, [], 'no JavaScript errors');
    assert.deepEqual(foreign, [], 'no request leaves the dialer');
  } catch (e) {
    if (page) await page.screenshot({ path: path.join(ARTIFACT_DIR, 'failure.png'), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    if (browser) await browser.close();
    await stopServer(server);
    logStream.end();
    rmSync(dir, { recursive: true, force: true });
  }
});
