// powerdialer dashboard.
//
// Plain ES module, deliberately with no JavaScript library: the page is
// small, must work offline (it is compiled into the binary and served by
// `powerdialer serve`, no CDN), and needs no build step or node_modules to
// ship. The activity chart is hand-drawn SVG for the same reason.
//
// Data flow: the REST API (/api/...) for actions and details, and one
// long-lived server-sent-events stream (/api/events) for live numbers. The
// stream is read with fetch() + ReadableStream because EventSource cannot
// send the Authorization header.

const TOKEN_KEY = 'powerdialer.token';
const ABANDON_LIMIT = 0.03;   // FCC / Ofcom: 3% of answered calls
const ABANDON_WARN = 0.02;    // amber from here, so the supervisor can react in time
const HISTORY_MS = 65 * 60 * 1000;  // keep a little more than the widest chart window
const STREAM_IDLE_MS = 45 * 1000;   // no byte (not even a keepalive) for this long: reconnect
const CAMPAIGN_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const OUTCOME_LABELS = {
  connected: 'Connected to agent',
  no_answer: 'No answer',
  busy: 'Busy',
  invalid_number: 'Invalid number',
  failed: 'Failed',
  abandoned: 'Abandoned',
  interrupted: 'Interrupted',
  suppressed: 'Suppressed (a compliance rule)',
};
const STATE_LABELS = {
  idle: 'Idle', running: 'Running', stopping: 'Stopping', stopped: 'Stopped', done: 'Done',
};
// The contact centre `serve --backend` dials ("backend" in the API's answers).
const BACKEND_LABELS = { sim: 'Simulator', connect: 'Amazon Connect' };
const BACKEND_TITLES = {
  sim: 'Calls go to the built-in simulated contact centre: no real phone rings.',
  connect: 'Calls are placed through Amazon Connect: real phones ring.',
};

// ---------------------------------------------------------------- state

const app = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  campaigns: new Map(),   // name -> latest summary/snapshot
  selected: null,         // campaign name
  detail: null,           // GET /api/campaigns/{name} of the selected campaign
  config: null,           // {config, keys} of the selected campaign
  history: new Map(),     // name -> [{t, live: {dials, connects, abandons} | null}]
  lastEventAt: new Map(), // name -> Date.now() of the last snapshot
  actedAt: new Map(), // name -> Date.now() of our last start/stop answer
  stream: null,           // AbortController of the event stream
  generation: 0,          // bumps on sign-out, ends stale loops
  busy: new Set(),        // actions in progress ("start", "upload", ...)
};

const $ = (id) => document.getElementById(id);
const nf = new Intl.NumberFormat();
const fmt = (n) => (typeof n === 'number' && Number.isFinite(n) ? nf.format(n) : '–');
const pct = (x, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Builds an element: h('li', {class: 'x', dataset: {testid: 'y'}}, 'text', child).
function h(tag, attrs = {}, ...children) {
  const el = tag === 'svg' || SVG_TAGS.has(tag)
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    // Through the CSSOM: the Content-Security-Policy (style-src 'self')
    // refuses style attributes set as markup.
    else if (k === 'style') el.style.cssText = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const SVG_TAGS = new Set(['g', 'path', 'line', 'rect', 'text', 'title', 'circle', 'polyline']);

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body || {};
  }
}

const campaignPath = (name, rest = '') => `/api/campaigns/${encodeURIComponent(name)}${rest}`;

// Calls the API with the token. JSON bodies unless `contentType` is given;
// returns parsed JSON, or the Response itself when `raw`. A 401 anywhere
// sends the user back to the sign-in box.
async function api(method, path, { body, contentType, raw = false, token = app.token } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  let payload = body;
  if (body !== undefined && contentType === undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (contentType) {
    headers['Content-Type'] = contentType;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'The dialer is not reachable. Check that `powerdialer serve` is running.');
  }
  if (res.status === 401) {
    if (token === app.token) signOut('Your session is no longer valid (401). Sign in with a current API token.');
    throw new ApiError(401, 'Not signed in.');
  }
  if (!res.ok) {
    let j = {};
    try { j = await res.json(); } catch { /* not JSON */ }
    let message = j.error || `${res.status} ${res.statusText}`;
    if (res.status === 413 && !j.error) message = 'The file is too large for the dialer to accept.';
    throw new ApiError(res.status, message, j);
  }
  if (raw) return res;
  const type = res.headers.get('content-type') || '';
  if (res.status === 204) return null;
  return type.includes('json') ? res.json() : res.text();
}

// ---------------------------------------------------------------- sign-in

function showSignIn(message = '') {
  $('app-view').hidden = true;
  $('session-bar').hidden = true;
  $('signin-view').hidden = false;
  $('signin-error').textContent = message;
  $('signin-token').value = '';
  $('signin-token').focus();
}

function signOut(message = '') {
  app.generation += 1;
  if (app.stream) app.stream.abort();
  app.stream = null;
  app.token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  showSignIn(message);
}

async function signIn(token) {
  // Check the token before keeping it, so a typo gets a clear message.
  const data = await api('GET', '/api/campaigns', { token });
  app.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  enterApp(data);
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const token = $('signin-token').value.trim();
  if (!token) {
    $('signin-error').textContent = 'Enter an API token.';
    return;
  }
  $('signin-error').textContent = '';
  try {
    await signIn(token);
  } catch (e) {
    $('signin-error').textContent = e.status === 401
      ? 'That token was not accepted. Create one with `powerdialer token create`.'
      : e.message;
  }
});

$('signout').addEventListener('click', () => signOut('Signed out.'));

function enterApp(campaignsResponse) {
  $('signin-view').hidden = true;
  $('app-view').hidden = false;
  $('session-bar').hidden = false;
  app.generation += 1;
  mergeCampaigns(campaignsResponse.campaigns || []);
  const fromHash = decodeURIComponent((location.hash.match(/campaign=([^&]+)/) || [])[1] || '');
  if (fromHash && app.campaigns.has(fromHash)) selectCampaign(fromHash);
  else if (!app.selected && app.campaigns.size === 1) selectCampaign([...app.campaigns.keys()][0]);
  else renderAll();
  runEventStream(app.generation);
  pollCampaigns(app.generation);
}

// ---------------------------------------------------------------- campaigns

function mergeCampaigns(list) {
  const seen = new Set();
  for (const c of list) {
    seen.add(c.name);
    app.campaigns.set(c.name, { ...(app.campaigns.get(c.name) || {}), ...c });
  }
  for (const name of [...app.campaigns.keys()]) if (!seen.has(name)) app.campaigns.delete(name);
  renderCampaignList();
}

// The stream carries every change; this slow poll only catches campaigns
// created or removed elsewhere (CLI, another dashboard).
async function pollCampaigns(gen) {
  while (gen === app.generation) {
    await sleep(15000);
    if (gen !== app.generation) return;
    try { mergeCampaigns((await api('GET', '/api/campaigns')).campaigns || []); } catch { /* next time */ }
  }
}

function progressOf(c) {
  const customers = c.customers || 0;
  const finished = (c.reached || 0) + (c.exhausted || 0) + (c.suppressed || 0);
  return customers > 0 ? finished / customers : 0;
}

function renderCampaignList() {
  const ul = $('campaign-list');
  const names = [...app.campaigns.keys()].sort((a, b) => a.localeCompare(b));
  $('campaign-empty').hidden = names.length > 0;
  const items = names.map((name) => {
    const c = app.campaigns.get(name);
    const p = progressOf(c);
    const selected = name === app.selected;
    return h('li', {},
      h('button', {
        type: 'button',
        class: `campaign-item${selected ? ' selected' : ''}`,
        'aria-current': selected ? 'true' : undefined,
        dataset: { testid: `campaign-item-${name}`, state: c.state || '' },
        onclick: () => selectCampaign(name),
      },
      h('span', { class: 'ci-top' },
        h('span', { class: 'ci-name', title: name }, name),
        badge(c.state)),
      h('span', { class: 'ci-bar', 'aria-hidden': 'true' },
        h('span', { style: `width:${(p * 100).toFixed(1)}%` })),
      h('span', { class: 'ci-meta' },
        c.customers ? `${fmt((c.reached || 0) + (c.exhausted || 0) + (c.suppressed || 0))} of ${fmt(c.customers)} done · ${pct(p, 0)}`
          : 'no list loaded',
        c.state === 'running' && c.in_flight ? ` · ${fmt(c.in_flight)} on the line` : '')));
  });
  ul.replaceChildren(...items);
}

function badge(state) {
  return h('span', { class: `badge state-${state || 'unknown'}` }, STATE_LABELS[state] || state || '?');
}

$('new-campaign-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('new-campaign-name');
  const name = input.value.trim();
  const err = $('new-campaign-error');
  if (!CAMPAIGN_NAME.test(name)) {
    err.textContent = 'Use 1–64 letters, digits, “-”, “_” or “.”.';
    input.setAttribute('aria-invalid', 'true');
    return;
  }
  input.removeAttribute('aria-invalid');
  err.textContent = '';
  try {
    const c = await api('POST', '/api/campaigns', { body: { name } });
    app.campaigns.set(c.name || name, { name, ...c });
    input.value = '';
    selectCampaign(c.name || name);
    notify(`Campaign “${c.name || name}” created. Upload a list to get started.`, 'ok');
  } catch (e) {
    err.textContent = e.message;
  }
});

async function selectCampaign(name) {
  app.selected = name;
  app.detail = null;
  app.config = null;
  history.replaceState(null, '', `#campaign=${encodeURIComponent(name)}`);
  $('upload-result').hidden = true;
  $('action-message').hidden = true;
  $('config-error').textContent = '';
  renderAll();
  app.compliance = null;
  renderCompliance();
  await Promise.all([refreshDetail(), loadConfig(), refreshCompliance()]);
}

// The compliance proof (GET .../compliance): per rule what the claims checked
// and held back, and the violations an audit of the placed calls found.
const RULE_LABELS = {
  'calling-window': 'Calling window (callee-local)',
  dnc: 'Do-not-call list',
  cap: 'Contact caps',
  'abandon-lockout': 'Abandon lockout',
  'abandon-rate': 'Abandon rate limit',
};

async function refreshCompliance() {
  const name = app.selected;
  if (!name) return;
  try {
    const r = await api('GET', campaignPath(name, '/compliance'));
    if (name !== app.selected) return;
    app.compliance = r;
  } catch (e) {
    if (name !== app.selected) return;
    app.compliance = { error: e.message || String(e) };
  }
  renderCompliance();
}

function renderCompliance() {
  const r = app.compliance;
  if (!r || r.error) {
    setText('compliance-verdict', r && r.error ? `cannot read: ${r.error}` : '');
    $('compliance-body').replaceChildren();
    setText('compliance-abandon', '');
    $('compliance-examples').replaceChildren();
    return;
  }
  setText('compliance-verdict', r.violations === 0
    ? `no violations · ${fmt(r.attempts_audited)} calls audited`
    : `${fmt(r.violations)} VIOLATIONS`);
  $('compliance-verdict').classList.toggle('bad', r.violations !== 0);
  $('compliance-body').replaceChildren(...(r.rules || []).map((rule) => h('tr',
    { class: rule.violations ? 'bad' : '', dataset: { rule: rule.rule } },
    h('th', { scope: 'row' }, RULE_LABELS[rule.rule] || rule.rule),
    h('td', { class: 'num' }, fmt(rule.checked)),
    h('td', { class: 'num' }, fmt(rule.held)),
    h('td', { class: 'num' }, fmt(rule.violations)))));
  const a = r.abandon_rate || {};
  setText('compliance-abandon', `Abandon rate: ${pct(a.day_rate || 0, 1)} on ${a.day || '–'}`
    + ` (${fmt(a.day_abandoned)} of ${fmt(a.day_answered)} answered), ${pct(a.rate_30d || 0, 1)}`
    + ` over 30 days (${fmt(a.abandoned_30d)} of ${fmt(a.answered_30d)}); limit ${pct(a.max || 0, 1)}`);
  const examples = (r.rules || []).flatMap((rule) => (rule.examples || []).map((e) => `${rule.rule}: ${e}`));
  $('compliance-examples').replaceChildren(...examples.map((e) => h('li', {}, e)));
}

async function refreshDetail() {
  const name = app.selected;
  if (!name) return;
  try {
    const d = await api('GET', campaignPath(name));
    if (name !== app.selected) return;
    app.detail = d;
    const c = app.campaigns.get(name) || { name };
    // The status shape (as `powerdialer status --json`) names a few things differently.
    const byState = d.customers_by_state || {};
    Object.assign(c, {
      state: d.state ?? c.state,
      backend: d.backend ?? c.backend,
      customers: d.customers ?? c.customers,
      attempts: d.attempts ?? c.attempts,
      pending: byState.pending ?? c.pending,
      reached: byState.reached ?? c.reached,
      exhausted: byState.exhausted ?? c.exhausted,
      suppressed: byState.suppressed ?? c.suppressed,
      in_flight: d.attempts_in_flight ?? c.in_flight,
      attempts_by_outcome: d.attempts_by_outcome ?? c.attempts_by_outcome,
    });
    if ('live' in d) c.live = d.live;
    if ('dialer' in d) c.dialer = d.dialer;
    if ('pacing' in d) c.pacing = d.pacing;
    app.campaigns.set(name, c);
    renderAll();
  } catch (e) {
    if (e.status === 404) {
      app.campaigns.delete(name);
      app.selected = null;
      renderAll();
    }
  }
}

// ---------------------------------------------------------------- live events

function setConnection(kind, text) {
  const el = $('conn-status');
  el.dataset.state = kind;
  el.querySelector('.conn-text').textContent = text;
}

async function runEventStream(gen) {
  let backoff = 1000;
  while (gen === app.generation) {
    const ctrl = new AbortController();
    app.stream = ctrl;
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ctrl.abort(), STREAM_IDLE_MS);
    };
    try {
      setConnection('connecting', 'Connecting…');
      arm();
      const res = await fetch('/api/events', {
        headers: { Authorization: `Bearer ${app.token}`, Accept: 'text/event-stream' },
        cache: 'no-store',
        signal: ctrl.signal,
      });
      if (res.status === 401) {
        clearTimeout(watchdog);
        if (gen === app.generation) signOut('Your session is no longer valid (401). Sign in again.');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setConnection('live', 'Live');
      backoff = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done || gen !== app.generation) break;
        arm();
        buf += value;
        // Events end with a blank line; accept \n, \r\n and \r line ends.
        for (;;) {
          const m = /\r\n\r\n|\n\n|\r\r/.exec(buf);
          if (!m) break;
          handleSseBlock(buf.slice(0, m.index));
          buf = buf.slice(m.index + m[0].length);
        }
      }
    } catch (e) {
      // Aborted (watchdog or sign-out) or network error: fall through to retry.
    } finally {
      clearTimeout(watchdog);
    }
    if (gen !== app.generation) return;
    // Reconnect with exponential backoff and jitter (1 s .. 30 s).
    const wait = backoff / 2 + Math.random() * backoff / 2;
    setConnection('reconnecting', `Reconnecting in ${Math.ceil(wait / 1000)} s…`);
    await sleep(wait);
    backoff = Math.min(backoff * 2, 30000);
  }
}

function handleSseBlock(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;  // ": keepalive"
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return;
  if (event !== 'campaign' && event !== 'message') return;
  let snap;
  try { snap = JSON.parse(data.join('\n')); } catch { return; }
  if (snap && typeof snap.name === 'string') onSnapshot(snap);
}

// A feed snapshot may be up to a second old: right after our own start or
// stop, its state is older than the one the API just answered with.
const ACTION_SETTLE_MS = 1500;

function onSnapshot(s) {
  const prev = app.campaigns.get(s.name);
  const c = { ...(prev || {}), ...s };
  const acted = app.actedAt.get(s.name);
  if (prev && acted && Date.now() - acted < ACTION_SETTLE_MS) c.state = prev.state;
  app.campaigns.set(s.name, c);
  app.lastEventAt.set(s.name, Date.now());

  // History of the cumulative live counters, for the per-interval chart.
  const t = typeof s.t === 'number' ? s.t : Date.now();
  let hist = app.history.get(s.name);
  if (!hist) app.history.set(s.name, (hist = []));
  hist.push({
    t,
    live: s.live ? { dials: s.live.dials || 0, connects: s.live.connects || 0, abandons: s.live.abandons || 0 } : null,
  });
  while (hist.length && hist[0].t < t - HISTORY_MS) hist.shift();

  renderCampaignList();
  if (s.name === app.selected) {
    renderCampaign();
    // A state change (e.g. running -> done) may change what the details say.
    if (prev && prev.state !== s.state) {
      refreshDetail();
      refreshCompliance();
    }
  }
}

// ---------------------------------------------------------------- rendering

function renderAll() {
  renderCampaignList();
  renderCampaign();
}

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

function renderCampaign() {
  const name = app.selected;
  const c = name ? app.campaigns.get(name) : null;
  $('no-selection').hidden = !!c;
  $('campaign-view').hidden = !c;
  if (!c) return;

  setText('campaign-title', name);
  const be = $('campaign-backend');
  be.hidden = !c.backend;
  be.dataset.backend = c.backend || '';
  be.title = BACKEND_TITLES[c.backend] || '';
  setText('campaign-backend', c.backend ? `Dials: ${BACKEND_LABELS[c.backend] || c.backend}` : '');
  const st = $('campaign-state');
  st.className = `badge state-${c.state || 'unknown'}`;
  st.dataset.state = c.state || '';
  setText('campaign-state', STATE_LABELS[c.state] || c.state || '?');
  document.title = `${name} · ${STATE_LABELS[c.state] || c.state || ''} · powerdialer`;
  // A campaign can read "running" while its dialer is dead (killed, or
  // paused past its lease): say so beside the state.
  const problem = c.dialer && c.dialer.responding === false ? c.dialer.problem || 'dialer not responding' : '';
  $('campaign-dialer').hidden = !problem;
  setText('campaign-dialer', problem);

  renderButtons(c);
  renderKpis(c);
  renderAgents(c.live);
  renderPacing(c);
  renderList(c);
  renderOutcomes(c.attempts_by_outcome);
  renderChart();
  renderFreshness();
}

function renderButtons(c) {
  const state = c.state;
  const customers = c.customers || 0;
  const pending = c.pending;
  const busy = (k) => app.busy.has(k);
  const start = $('start-button');
  const stop = $('stop-button');
  const dl = $('download-button');
  const upload = $('upload-input');

  let startWhy = '';
  if (state === 'running') startWhy = 'The campaign is running.';
  else if (state === 'stopping') startWhy = 'The campaign is stopping; wait until it has stopped.';
  else if (!customers) startWhy = 'Upload a list first.';
  else if (pending === 0 && state === 'done') startWhy = 'Every customer has been called; upload a list to run again.';
  start.disabled = !!startWhy || busy('start');
  start.title = startWhy;

  const stopWhy = state === 'running' ? '' : state === 'stopping' ? 'Stopping: calls in progress are finishing.' : 'The campaign is not running.';
  stop.disabled = !!stopWhy || busy('stop');
  stop.title = stopWhy;
  stop.textContent = state === 'stopping' ? 'Stopping…' : 'Stop';

  const dlWhy = (c.attempts || 0) > 0 ? '' : 'No calls have been made yet.';
  dl.disabled = !!dlWhy || busy('download');
  dl.title = dlWhy;

  const upWhy = state === 'running' || state === 'stopping' ? 'Stop the campaign before loading a list.' : '';
  upload.disabled = !!upWhy || busy('upload');
  $('upload-label').classList.toggle('disabled', upload.disabled);
  $('upload-label').title = upWhy || 'Load a CSV list (replaces the current list unless “append” is ticked)';
  $('upload-append').disabled = upload.disabled;
}

function renderKpis(c) {
  const live = c.live;
  const o = c.attempts_by_outcome || {};
  let dials, connects, abandons, scope;
  // While the campaign runs here, the tiles show the engine's live counters
  // for this run; otherwise the final outcomes of every ended attempt. The
  // tag on each tile says which, so "Connects" (live) and "Connected to
  // agent" (final, in the outcomes table) are not read as one number.
  if (live) {
    ({ dials, connects, abandons } = live);
    scope = 'this run';
  } else {
    dials = c.attempts;
    connects = o.connected;
    abandons = o.abandoned;
    scope = 'all attempts';
  }
  for (const k of ['dials', 'connects', 'abandons', 'inflight']) {
    const tag = document.querySelector(`[data-testid="scope-${k}"]`);
    tag.dataset.scope = live ? 'live' : 'final';
    tag.textContent = live ? 'live' : (k === 'inflight' ? '' : 'final');
  }
  setText('stat-dials', fmt(dials));
  setText('stat-dials-foot', live ? 'this run' : 'all attempts');
  setText('stat-connects', fmt(connects));
  setText('stat-connects-foot', live ? 'to an agent, this run' : 'to an agent, ended calls');
  setText('stat-abandons', fmt(abandons));
  setText('stat-abandons-foot', 'answered, no agent');
  // Calls in progress and its parts come from one snapshot: the engine's
  // own counts while it runs here. The store's count of open attempts, read
  // at another moment (and by another reader), once showed 16 beside
  // "4 ringing · 13 talking". "Dialling" is every call placed or being
  // placed that no agent has yet.
  const foot = $('stat-inflight-foot');
  if (live) {
    const dialling = live.dialing || 0;
    const talking = live.talking || 0;
    setText('stat-inflight', fmt(dialling + talking));
    setText('stat-inflight-foot', `${fmt(dialling)} dialling · ${fmt(talking)} with an agent`);
    Object.assign(foot.dataset, { total: dialling + talking, dialling, talking });
  } else {
    setText('stat-inflight', fmt(c.in_flight ?? 0));
    setText('stat-inflight-foot', c.state === 'running' ? 'attempts open in the store (dialled elsewhere)' : 'not running here');
    for (const k of ['total', 'dialling', 'talking']) delete foot.dataset[k];
  }

  const answered = (connects || 0) + (abandons || 0);
  const tile = $('abandon-tile');
  tile.classList.remove('warn', 'alert');
  // The store's ledger, when the server has one: the rate TCPA measures
  // (30 days, every run of the campaign) and today's, against the
  // campaign's own max-abandon-rate, which pauses the campaign when reached.
  const ledger = c.abandon_rate;
  if (ledger && typeof ledger.answered_30d === 'number') {
    tile.dataset.source = 'ledger';
    if (ledger.answered_30d > 0) {
      setText('abandon-rate', ledger.rate_30d);
      tile.dataset.rate = (ledger.abandoned_30d / ledger.answered_30d).toFixed(4);
    } else {
      setText('abandon-rate', '–');
      delete tile.dataset.rate;
    }
    const counts = `${fmt(ledger.abandoned_30d)} of ${fmt(ledger.answered_30d)} answered in 30 days`;
    if (ledger.paused) {
      tile.classList.add('alert');
      setText('abandon-foot', `${ledger.reason} · today ${ledger.today}`);
    } else {
      const rate = ledger.answered_30d > 0 ? ledger.abandoned_30d / ledger.answered_30d : 0;
      const max = parseFloat(ledger.max) / 100;
      if (rate >= max * (ABANDON_WARN / ABANDON_LIMIT)) tile.classList.add('warn');
      setText('abandon-foot', `30 days · today ${ledger.today} · ${counts} · limit ${ledger.max}`);
    }
    return;
  }
  delete tile.dataset.source;
  if (answered > 0) {
    const rate = (abandons || 0) / answered;
    setText('abandon-rate', pct(rate));
    if (rate > ABANDON_LIMIT) {
      tile.classList.add('alert');
      setText('abandon-foot', `over the 3% limit · ${fmt(abandons)} of ${fmt(answered)} answered (${scope})`);
    } else {
      if (rate >= ABANDON_WARN) tile.classList.add('warn');
      setText('abandon-foot', `limit 3% · ${fmt(abandons)} of ${fmt(answered)} answered (${scope})`);
    }
    tile.dataset.rate = rate.toFixed(4);
  } else {
    setText('abandon-rate', '–');
    setText('abandon-foot', 'limit 3% · no answered calls yet');
    delete tile.dataset.rate;
  }
}

// The pacing card: the mode (from the configuration), the level the pacer
// aims for while the campaign dials, and the abandon rates against the
// target. The select changes the mode through PATCH .../config, which checks
// it as `powerdialer config set` does.
function renderPacing(c) {
  const p = c.pacing;
  const card = $('pacing');
  if (!p) {
    for (const id of ['pacing-mode', 'pacing-lines', 'pacing-today', 'pacing-30d', 'pacing-target']) setText(id, '–');
    return;
  }
  card.dataset.mode = p.mode || '';
  setText('pacing-mode', p.mode || '–');
  const lines = typeof p.lines_per_agent === 'number' ? p.lines_per_agent : null;
  setText('pacing-lines', lines === null ? '–' : lines.toFixed(2));
  $('pacing-lines').title = lines === null ? 'shown while the campaign dials' : '';
  setText('pacing-today', pct(p.abandon_rate_today || 0));
  setText('pacing-30d', pct(p.abandon_rate_30d || 0));
  setText('pacing-target', `${pct(p.target_abandon_rate || 0)} (${pct(p.max_abandon_rate || 0, 1)})`);
  $('pacing-30d').classList.toggle('over', !!p.over_target);
  const running = c.state === 'running' || c.state === 'stopping';
  let state = running ? (lines === null ? 'starting' : 'dialling') : 'not dialling';
  if (p.warming_up) state = 'warming up: dials as power mode';
  setText('pacing-state', state);
  const notes = [];
  if (p.over_target) notes.push('30-day abandon rate above the target');
  if (p.note) notes.push(p.note);
  if (p.mode === 'progressive') notes.push(`lines-per-agent ${p.configured_lines_per_agent}, max ${p.max_lines_per_agent}`);
  setText('pacing-note', notes.join(' · '));
  // The select follows the campaign unless the user is choosing.
  const sel = $('pacing-select');
  if (document.activeElement !== sel && !sel.classList.contains('changed')) sel.value = p.mode;
  $('pacing-apply').disabled = app.busy.has('pacing');
}

$('pacing-select').addEventListener('change', (ev) => {
  const c = app.campaigns.get(app.selected);
  ev.target.classList.toggle('changed', !c || !c.pacing || ev.target.value !== c.pacing.mode);
});

$('pacing-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  // Read before withBusy re-renders (which may set the select back to the
  // campaign's mode).
  const sel = $('pacing-select');
  const mode = sel.value;
  sel.classList.add('changed');
  withBusy('pacing', async () => {
    const name = app.selected;
    const err = $('pacing-error');
    err.textContent = '';
    sel.removeAttribute('aria-invalid');
    try {
      const r = await api('PATCH', campaignPath(name, '/config'), { body: { pacing: mode } });
      if (app.config && r && r.config) app.config = { keys: app.config.keys, ...r };
      sel.classList.remove('changed');
      const c = app.campaigns.get(name);
      if (c && c.pacing) c.pacing = { ...c.pacing, mode };
      const running = c && (c.state === 'running' || c.state === 'stopping');
      notify(running ? `Pacing set to ${mode}: it applies when “${name}” next starts.`
        : `Pacing set to ${mode}.`, 'ok');
      if (app.config) renderConfig();
    } catch (e) {
      if (e.status === 401) return;
      sel.setAttribute('aria-invalid', 'true');
      err.textContent = e.message.includes('pacing') ? e.message : `pacing: ${e.message}`;
    }
    refreshDetail();
  });
});

function renderAgents(live) {
  const a = live ? live.agents_available || 0 : null;
  const b = live ? live.agents_busy || 0 : null;
  const w = live ? live.agents_after_call_work || 0 : null;
  setText('agents-available', fmt(a));
  setText('agents-busy', fmt(b));
  setText('agents-acw', fmt(w));
  setText('calls-dialing', fmt(live ? live.dialing : null));
  setText('calls-talking', fmt(live ? live.talking : null));
  setText('calls-throttled', fmt(live ? live.throttled : null));
  const total = live ? a + b + w : 0;
  setText('agents-total', live ? `${fmt(total)} staffed` : 'live when running');
  const bar = $('agents-bar');
  const seg = (cls, n) => h('span', { class: cls, style: `flex-grow:${n}` });
  bar.replaceChildren(...(total > 0
    ? [seg('a-available', a), seg('a-busy', b), seg('a-acw', w)]
    : [h('span', { class: 'empty', style: 'flex-grow:1' })]));
}

// "42 min", "3 h 5 min", "2 d 4 h" (as the CLI's status says it).
function waitText(ms) {
  const total = Math.max(1, Math.ceil(ms / 60000));
  const d = Math.floor(total / 1440), h = Math.floor(total / 60) % 24, m = total % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return `${m} min`;
}

function renderList(c) {
  const customers = c.customers || 0;
  const reached = c.reached || 0;
  // Customers a compliance rule ended are finished too (shown with the
  // exhausted: nobody will call them).
  const exhausted = (c.exhausted || 0) + (c.suppressed || 0);
  const inflight = c.in_flight || 0;
  setText('list-customers', fmt(c.customers));
  // The parts add up to the customers: "pending" from the API counts those
  // being called too, so they are taken out here (same store snapshot).
  setText('list-pending', typeof c.customers === 'number'
    ? fmt(Math.max(0, customers - reached - exhausted - inflight)) : fmt(c.pending));
  setText('list-inflight', fmt(c.in_flight));
  setText('list-reached', fmt(c.reached));
  setText('list-exhausted', fmt(exhausted));
  setText('list-attempts', fmt(c.attempts));
  const p = progressOf(c);
  setText('list-percent', customers ? `${pct(p, 0)} finished` : 'no list loaded');
  const bar = $('list-progress');
  bar.setAttribute('aria-valuenow', (p * 100).toFixed(0));
  const [r, e, f] = bar.children;
  const w = (n) => `${customers ? (100 * n / customers).toFixed(2) : 0}%`;
  r.style.width = w(reached);
  e.style.width = w(exhausted);
  f.style.width = w(Math.min(inflight, Math.max(0, customers - reached - exhausted)));

  const d = app.detail;
  const extra = [];
  if (d) {
    if (typeof d.phones === 'number') extra.push(`${fmt(d.phones)} phone numbers`);
    if (d.rejected_rows) extra.push(`${fmt(d.rejected_rows)} ${d.rejected_rows === 1 ? 'row' : 'rows'} rejected at load`);
  }
  // A compliance rule holds the list (e.g. outside every callee's calling
  // window): say what lets go and when, from the live feed or the details.
  const waiting = 'waiting' in c ? c.waiting : d && d.waiting;
  const until = waiting ? new Date(waiting.until).getTime() : NaN;
  if (waiting && c.state !== 'done' && until > Date.now()) {
    extra.push(`waiting: ${waiting.text}, in ${waitText(until - Date.now())}`);
  } else if (d && d.next_callable_at && c.state !== 'done') {
    const at = new Date(d.next_callable_at);
    if (!Number.isNaN(at.getTime()) && at.getTime() > Date.now()) extra.push(`next retry due ${at.toLocaleTimeString()}`);
  }
  setText('list-extra', extra.join(' · '));
}

function renderOutcomes(byOutcome) {
  const o = byOutcome || {};
  const total = Object.values(o).reduce((s, n) => s + (n || 0), 0);
  const keys = Object.keys(OUTCOME_LABELS).concat(Object.keys(o).filter((k) => !(k in OUTCOME_LABELS)));
  const rows = keys.filter((k) => k in o || k in OUTCOME_LABELS).map((k) => {
    const n = o[k] || 0;
    return h('tr', { class: n ? '' : 'zero', dataset: { outcome: k } },
      h('th', { scope: 'row' }, h('span', { class: `swatch o-${k}` }), OUTCOME_LABELS[k] || k.replaceAll('_', ' ')),
      h('td', { class: 'num' }, fmt(n)),
      h('td', { class: 'num' }, total ? pct(n / total, 0) : '–'));
  });
  $('outcomes-body').replaceChildren(...rows);
}

function renderFreshness() {
  const name = app.selected;
  if (!name) return;
  const at = app.lastEventAt.get(name);
  const c = app.campaigns.get(name);
  const el = $('campaign-updated');
  if (!at) {
    setText('campaign-updated', '');
    return;
  }
  const ago = Math.max(0, Math.round((Date.now() - at) / 1000));
  el.classList.toggle('stale', c && c.state === 'running' && ago > 10);
  setText('campaign-updated', ago < 2 ? 'updated just now' : `updated ${ago} s ago`);
}
setInterval(renderFreshness, 1000);

// ---------------------------------------------------------------- chart

// Buckets the differences of successive cumulative counters into fixed
// intervals ending now. A sample after one with live == null (the run had
// ended) counts from zero: that is a new run. The very first sample seen
// is only a baseline, since the page may open in the middle of a run.
function bucketize(hist, windowMs, bucketMs, now) {
  const n = Math.round(windowMs / bucketMs);
  const end = Math.ceil(now / bucketMs) * bucketMs;
  const start = end - n * bucketMs;
  const buckets = Array.from({ length: n }, (_, i) => ({
    t0: start + i * bucketMs, dials: 0, connects: 0, abandons: 0,
  }));
  for (let i = 1; i < hist.length; i++) {
    const cur = hist[i];
    const prev = hist[i - 1];
    if (!cur.live || cur.t < start) continue;
    const base = prev.live || { dials: 0, connects: 0, abandons: 0 };
    const b = buckets[Math.min(n - 1, Math.floor((cur.t - start) / bucketMs))];
    if (!b) continue;
    for (const k of ['dials', 'connects', 'abandons']) {
      const d = cur.live[k] - base[k];
      b[k] += d >= 0 ? d : cur.live[k];  // a counter that went down: restarted
    }
  }
  return buckets;
}

// The y-axis top: four gridline steps of 1, 2 or 5 x 10^k.
function niceMax(v) {
  const raw = Math.max(1, v / 4);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return 4 * m * p;
  return 40 * p;
}

function timeLabel(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function renderChart() {
  const box = $('chart');
  const name = app.selected;
  if (!name || box.offsetParent === null) return;
  const minutes = Number($('chart-window').value) || 5;
  const windowMs = minutes * 60000;
  const bucketMs = minutes <= 5 ? 10000 : minutes <= 15 ? 30000 : 120000;
  const now = Date.now();
  const buckets = bucketize(app.history.get(name) || [], windowMs, bucketMs, now);

  const W = Math.max(320, box.clientWidth || 600);
  const H = 230;
  const m = { l: 40, r: 12, t: 10, b: 26 };
  const iw = W - m.l - m.r;
  const ih = H - m.t - m.b;
  const peak = Math.max(0, ...buckets.map((b) => Math.max(b.dials, b.connects, b.abandons)));
  const ymax = niceMax(peak);
  const n = buckets.length;
  const x = (i) => m.l + (i + 0.5) * (iw / n);
  const y = (v) => m.t + ih - (v / ymax) * ih;

  const svg = h('svg', {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'chart-svg', 'aria-hidden': 'true',
  });
  // Grid and y labels.
  for (let k = 0; k <= 4; k++) {
    const v = (ymax / 4) * k;
    const yy = y(v);
    svg.append(h('line', { x1: m.l, x2: W - m.r, y1: yy, y2: yy, class: k ? 'grid' : 'axis' }));
    svg.append(h('text', { x: m.l - 6, y: yy + 4, class: 'tick', 'text-anchor': 'end' },
      Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  // x labels: start, middle, end.
  for (const i of [0, Math.floor(n / 2), n]) {
    const t = buckets[0].t0 + i * bucketMs;
    const xx = m.l + i * (iw / n);
    svg.append(h('text', {
      x: xx, y: H - 8, class: 'tick', 'text-anchor': i === 0 ? 'start' : i === n ? 'end' : 'middle',
    }, i === n ? 'now' : timeLabel(t)));
  }
  // Dials as bars (volume), connects and abandons as lines on top.
  const bw = Math.max(2, (iw / n) * 0.62);
  buckets.forEach((b, i) => {
    if (b.dials > 0) {
      svg.append(h('rect', {
        x: x(i) - bw / 2, y: y(b.dials), width: bw, height: Math.max(0, y(0) - y(b.dials)), class: 'bar-dials', rx: 2,
      }));
    }
  });
  const line = (key, cls) => {
    const pts = buckets.map((b, i) => `${x(i).toFixed(1)},${y(b[key]).toFixed(1)}`).join(' ');
    svg.append(h('polyline', { points: pts, class: cls }));
    buckets.forEach((b, i) => {
      if (b[key] > 0) svg.append(h('circle', { cx: x(i), cy: y(b[key]), r: 2.8, class: `${cls}-pt` }));
    });
  };
  line('connects', 'line-connects');
  line('abandons', 'line-abandons');
  // Hover targets with native tooltips.
  buckets.forEach((b, i) => {
    const secs = bucketMs / 1000;
    svg.append(h('rect', {
      x: m.l + i * (iw / n), y: m.t, width: iw / n, height: ih, class: 'hover',
    }, h('title', {}, `${new Date(b.t0).toLocaleTimeString()} (+${secs} s)\n` +
      `dials ${b.dials} · connects ${b.connects} · abandons ${b.abandons}`)));
  });
  box.replaceChildren(svg);

  const tot = buckets.reduce((s, b) => ({
    dials: s.dials + b.dials, connects: s.connects + b.connects, abandons: s.abandons + b.abandons,
  }), { dials: 0, connects: 0, abandons: 0 });
  box.setAttribute('aria-label',
    `Last ${minutes} minutes, per ${bucketMs / 1000}-second interval: ${tot.dials} dials, ` +
    `${tot.connects} connects, ${tot.abandons} abandons.`);
  box.dataset.dials = String(tot.dials);
  setText('chart-note', `Per ${bucketMs >= 60000 ? `${bucketMs / 60000}-minute` : `${bucketMs / 1000}-second`} interval, ` +
    `collected while this page is open · ${fmt(tot.dials)} dials, ${fmt(tot.connects)} connects, ` +
    `${fmt(tot.abandons)} abandons in the window.`);
}

$('chart-window').addEventListener('change', renderChart);
let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(renderChart, 150);
});
// Let the time axis move on even when no event arrives.
setInterval(() => { if (app.selected) renderChart(); }, 5000);

// ---------------------------------------------------------------- actions

let noticeTimer = null;
function notify(text, kind = 'ok') {
  const el = $('action-message');
  el.textContent = text;
  el.className = `notice notice-${kind}`;
  el.hidden = false;
  clearTimeout(noticeTimer);
  if (kind === 'ok') noticeTimer = setTimeout(() => { el.hidden = true; }, 8000);
}

async function withBusy(key, fn) {
  app.busy.add(key);
  renderCampaign();
  try {
    return await fn();
  } finally {
    app.busy.delete(key);
    renderCampaign();
  }
}

$('start-button').addEventListener('click', () => withBusy('start', async () => {
  const name = app.selected;
  try {
    const r = await api('POST', campaignPath(name, '/start'));
    const c = app.campaigns.get(name);
    if (c && r && r.state) c.state = r.state;
    app.actedAt.set(name, Date.now());
    notify(`Campaign “${name}” started.`, 'ok');
  } catch (e) {
    if (e.status !== 401) notify(`Could not start: ${e.message}`, 'error');
  }
  refreshDetail();
}));

$('stop-button').addEventListener('click', () => withBusy('stop', async () => {
  const name = app.selected;
  try {
    const r = await api('POST', campaignPath(name, '/stop'));
    const c = app.campaigns.get(name);
    if (c && r && r.state) c.state = r.state;
    app.actedAt.set(name, Date.now());
    notify(`Stopping “${name}”: nothing new is dialled; calls in progress finish.`, 'ok');
  } catch (e) {
    if (e.status !== 401) notify(`Could not stop: ${e.message}`, 'error');
  }
  refreshDetail();
}));

$('upload-input').addEventListener('change', (ev) => {
  const input = ev.target;
  const file = input.files && input.files[0];
  if (!file) return;
  withBusy('upload', async () => {
    const name = app.selected;
    const append = $('upload-append').checked;
    const out = $('upload-result');
    out.hidden = false;
    out.className = 'card upload-result';
    out.replaceChildren(h('p', {}, `Loading ${file.name}…`));
    try {
      const r = await api('PUT', campaignPath(name, `/list${append ? '?append=1' : ''}`),
        { body: file, contentType: 'text/csv' });
      renderUploadResult(file.name, r);
    } catch (e) {
      if (e.status === 401) return;
      out.classList.add('error');
      const where = e.body && e.body.line ? ` (line ${e.body.line})` : '';
      out.replaceChildren(h('p', {}, h('strong', {}, `${file.name} was not loaded: `), e.message + where));
    } finally {
      input.value = '';  // choosing the same file again fires "change" again
    }
    refreshDetail();
  });
});

function renderUploadResult(fileName, r) {
  const out = $('upload-result');
  const loaded = r.loaded || 0;
  const rejected = r.rejected || 0;
  const rejects = r.rejects || [];
  out.classList.toggle('warn', rejected > 0);
  const shown = rejects.slice(0, 10);
  out.replaceChildren(
    h('div', { class: 'card-head' },
      h('h2', {}, `List loaded: ${fileName}`),
      h('button', { type: 'button', class: 'btn btn-ghost small', 'aria-label': 'Dismiss', onclick: () => { out.hidden = true; } }, '✕')),
    h('p', { class: 'upload-summary' },
      h('span', { class: 'pill ok', dataset: { testid: 'upload-loaded' } }, `${fmt(loaded)} loaded`), ' ',
      h('span', { class: `pill ${rejected ? 'bad' : 'neutral'}`, dataset: { testid: 'upload-rejected' } }, `${fmt(rejected)} rejected`),
      r.duplicates ? [' ', h('span', { class: 'pill neutral', dataset: { testid: 'upload-duplicates' },
        title: 'Rows repeating a customer and phone already in the list, kept once' },
      `${fmt(r.duplicates)} duplicates`)] : null,
      typeof r.customers === 'number' ? h('span', { class: 'muted small' },
        ` · the list now has ${fmt(r.customers)} customers${typeof r.phones === 'number' ? ` and ${fmt(r.phones)} phone numbers` : ''}`) : null),
    shown.length ? h('table', { class: 'rejects', dataset: { testid: 'upload-rejects' } },
      h('caption', { class: 'muted small' },
        rejected > shown.length ? `First ${shown.length} of ${fmt(rejected)} rejected rows` : 'Rejected rows'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num' }, 'Line'), h('th', { scope: 'col' }, 'Reason'))),
      h('tbody', {}, shown.map((x) => h('tr', {}, h('td', { class: 'num' }, x.line ?? ''), h('td', {}, x.reason || ''))))) : null);
}

$('download-button').addEventListener('click', () => withBusy('download', async () => {
  const name = app.selected;
  try {
    const res = await api('GET', campaignPath(name, '/results'), { raw: true });
    const blob = await res.blob();
    const cd = res.headers.get('content-disposition') || '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
    const fileName = m ? decodeURIComponent(m[1]) : `${name}-results.csv`;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: fileName, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    notify(`Downloaded ${fileName}.`, 'ok');
  } catch (e) {
    if (e.status !== 401) notify(`Could not download the results: ${e.message}`, 'error');
  }
}));

// ---------------------------------------------------------------- config

async function loadConfig() {
  const name = app.selected;
  try {
    const cfg = await api('GET', campaignPath(name, '/config'));
    if (name !== app.selected) return;
    app.config = cfg;
    renderConfig();
  } catch (e) {
    if (e.status !== 401) $('config-error').textContent = `Could not load the configuration: ${e.message}`;
  }
}

function renderConfig() {
  const cfg = app.config;
  const box = $('config-fields');
  if (!cfg) { box.replaceChildren(); return; }
  const values = cfg.config || {};
  const fields = (cfg.keys || []).map((k) => {
    const id = `cfg-${k.name}`;
    const v = values[k.name];
    const current = v === null || v === undefined ? '' : String(v);
    const common = {
      id, name: k.name,
      'aria-describedby': `${id}-help`,
      dataset: { testid: `config-${k.name}`, original: current },
    };
    const markChanged = (ev) => {
      ev.target.removeAttribute('aria-invalid');
      ev.target.classList.toggle('changed', ev.target.value !== ev.target.dataset.original);
    };
    // A key with a known set of values (traffic-type, answering-machine
    // detection, ...) is a choice, not free text; "" means the default.
    const control = Array.isArray(k.choices)
      ? h('select', { ...common, onchange: markChanged },
        h('option', { value: '', selected: current === '' }, k.default ? `default (${k.default})` : 'not set (Connect\'s default)'),
        ...k.choices.map((choice) => h('option', { value: choice, selected: current === choice }, choice)))
      : h('input', {
        ...common, type: 'text', value: current, spellcheck: 'false', autocomplete: 'off',
        placeholder: k.default ? `default: ${k.default}` : 'not set',
        oninput: markChanged,
      });
    return h('div', { class: 'field' },
      h('label', { for: id }, k.name),
      control,
      h('p', { class: 'help', id: `${id}-help` }, k.description || '',
        k.default ? h('span', { class: 'muted' }, ` (default ${k.default})`) : null));
  });
  box.replaceChildren(...fields);
}

$('config-reset').addEventListener('click', () => {
  $('config-error').textContent = '';
  renderConfig();
});

$('config-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('config-error');
  const status = $('config-status');
  err.textContent = '';
  const patch = {};
  for (const input of $('config-fields').querySelectorAll('input, select')) {
    input.removeAttribute('aria-invalid');
    if (input.value !== input.dataset.original) {
      const v = input.value.trim();
      patch[input.name] = v === '' ? null : v;  // empty: back to the default
    }
  }
  if (!Object.keys(patch).length) {
    status.textContent = 'Nothing to save.';
    return;
  }
  const name = app.selected;
  try {
    const r = await api('PATCH', campaignPath(name, '/config'), { body: patch });
    // The answer is the new configuration, with or without the key list.
    if (r && r.config) app.config = { keys: app.config.keys, ...r };
    else if (r && typeof r === 'object') app.config = { ...app.config, config: r };
    renderConfig();
    status.textContent = `Saved ${Object.keys(patch).join(', ')}.`;
    setTimeout(() => { status.textContent = ''; }, 6000);
  } catch (e) {
    if (e.status === 401) return;
    const key = e.body && e.body.key;
    const input = key ? document.getElementById(`cfg-${key}`) : null;
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
    err.textContent = key && !e.message.includes(key) ? `${key}: ${e.message}` : e.message;
  }
});

// ---------------------------------------------------------------- start

if (app.token) {
  api('GET', '/api/campaigns')
    .then(enterApp)
    .catch((e) => { if (e.status !== 401) showSignIn(e.message); });
} else {
  showSignIn();
}
