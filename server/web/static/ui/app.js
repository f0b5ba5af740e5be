// The Preview tab: sign in, pick or upload a generation, launch and stop its
// preview, and watch it in four panels (status, logs, endpoints, the app).

import { $, h, show, formatBytes, relative, clock } from './dom.js';
import { Client, gen } from './api.js';
import { UploadPanel } from './upload.js';
import { AppFrame } from './frame.js';
import { sendFolder } from './patch.js';
import { LogPanel } from './logs.js';
import { EndpointPanel } from './endpoints.js';
import { ChecksPanel } from './checks.js';
import { renderStatus, explainExit, causeHeadline } from './status.js';

const pollEvery = 2000;
const liveStatuses = new Set(['starting', 'running']);

const state = {
  // The bearer token lives only in this page's memory, never in storage or a
  // cookie: a preview's script that ever ran on this origin could read
  // localStorage or sessionStorage, and would send a cookie with its own
  // calls to the API. A reload or a new tab asks for the token again.
  token: '',
  gens: [],
  cursor: null,
  selected: null, // the generation shown on the right
  status: null, // its latest GET …/status answer; null when never launched
  busy: '', // 'launching' or 'stopping' while that call runs
  sessions: new Map(), // generation id → {token, previewId, proxyURL}
  pollTimer: 0,
  tab: 'status',
  storedLogFor: '', // the preview whose stored log was loaded
  attachedTo: '', // the preview this page last asked a session of
  statusCalls: 0, // counts status reads: only the latest one's answer is used
};

const api = new Client(() => state.token, () => signOut('previewd did not accept your token any more (it may have expired). Sign in again.'));

const logs = new LogPanel({
  onStatus: (status) => {
    if (state.status && state.status.status !== status) refreshStatus();
  },
  onLost: () => reconnectLogs(),
  onChecks: () => checks.load(),
  // A new revision serves: the iframe shows it, on the page it was on; a
  // failed one is said beside the one that keeps serving.
  onRevision: (ev) => {
    if (ev.status === 'running') {
      frame.revisionLive(ev.revision);
      refreshStatus();
    } else if (ev.status === 'failed') {
      frame.revisionFailed(ev.revision, ev.error || 'it did not start');
      refreshStatus();
    }
  },
  onLine: () => {
    if (state.tab !== 'logs') {
      const b = $('logs-badge');
      b.hidden = false;
      b.textContent = String(Number(b.textContent || 0) + 1);
    }
  },
});

const frame = new AppFrame();

const checks = new ChecksPanel(api, () => state.token, {
  onFailing: (n) => {
    const b = $('checks-badge');
    b.hidden = !n;
    b.textContent = n ? String(n) : '';
  },
});

// An upload is listed and shown at once.
new UploadPanel(api, (g) => loadGenerations(false, g.id));

const endpoints = new EndpointPanel(api, {
  session: () => (state.selected ? state.sessions.get(state.selected.id) || null : null),
  refreshSession: () => ensureSession(true),
  onCount: (n) => {
    const b = $('endpoints-badge');
    b.hidden = n === null;
    b.textContent = n === null ? '' : String(n);
  },
});

// ---- signing in and out ----

// claims reads a JWT's payload, for showing whom it is for; previewd checks it.
function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return {};
  }
}

async function signIn(token) {
  const err = $('signin-error');
  token = token.trim().replace(/^Bearer\s+/i, '');
  if (!token) {
    show(err, 'Paste a token first.', 'error');
    return;
  }
  const c = claims(token);
  if (c.exp && c.exp * 1000 < Date.now()) {
    show(err, `This token expired ${relative(new Date(c.exp * 1000).toISOString())}. Mint a new one (make run prints one).`, 'error');
    return;
  }
  $('signin-submit').disabled = true;
  show(err, '');
  state.token = token;
  try {
    await api.get('/api/v1/generations?limit=1', { sessionAuth: true });
  } catch (e) {
    state.token = '';
    $('signin-submit').disabled = false;
    show(err, e.status === 401 ? 'previewd did not accept this token. Check that it was signed with this server’s PREVIEW_JWT_SECRET and has not expired.' : e.message, 'error');
    return;
  }
  $('signin-submit').disabled = false;
  $('token-input').value = '';
  showApp();
}

function signOut(message = '') {
  state.token = '';
  deselect();
  state.gens = [];
  state.sessions.clear();
  $('gens').replaceChildren();
  $('app-view').hidden = true;
  $('account').hidden = true;
  $('signin-view').hidden = false;
  show($('signin-error'), message, 'error');
  $('token-input').focus();
}

function showApp() {
  const c = claims(state.token);
  $('whoami').textContent = `Signed in as ${c.sub || 'unknown'}${c.exp ? ` · token expires ${relative(new Date(c.exp * 1000).toISOString())}` : ''}`;
  $('signin-view').hidden = true;
  $('account').hidden = false;
  $('app-view').hidden = false;
  loadGenerations();
}

// ---- the generation list ----

async function loadGenerations(more = false, selectId = '') {
  const msg = $('gens-message');
  if (!more) state.cursor = null;
  msg.textContent = 'Loading…';
  try {
    const q = new URLSearchParams({ limit: '50' });
    if (more && state.cursor) q.set('cursor', state.cursor);
    const { data } = await api.get(`/api/v1/generations?${q}`);
    state.gens = more ? state.gens.concat(data.generations) : data.generations;
    state.cursor = data.next_cursor;
  } catch (e) {
    msg.textContent = e.message;
    return;
  }
  msg.textContent = state.gens.length ? '' : 'No generations yet. Upload a folder or an archive above.';
  $('gens').hidden = state.gens.length === 0;
  $('gens-more').hidden = !state.cursor;
  renderGenerations();
  if (selectId) {
    const g = state.gens.find((x) => x.id === selectId);
    if (g) select(g);
  }
}

function renderGenerations() {
  $('gens').replaceChildren(...state.gens.map((g) => h('li', {},
    h('button', {
      type: 'button', class: 'gen-item', dataset: { id: g.id },
      'aria-current': state.selected && state.selected.id === g.id ? 'true' : 'false',
      onclick: () => select(g),
    },
    h('span', { class: 'gen-item-name', text: g.name }),
    h('span', { class: 'gen-item-meta' },
      h('span', { class: 'fw', text: g.framework }),
      ` ${g.file_count} file${g.file_count === 1 ? '' : 's'} · ${formatBytes(g.total_bytes)} · ${relative(g.created_at)}`)))));
}

// ---- one generation ----

function deselect() {
  clearTimeout(state.pollTimer);
  logs.reset();
  frame.unload('');
  state.selected = null;
  state.status = null;
  state.busy = '';
  state.storedLogFor = '';
  state.attachedTo = '';
  $('gen-view').hidden = true;
  $('empty-main').hidden = false;
}

async function select(g) {
  if (state.selected && state.selected.id === g.id) return;
  deselect();
  state.selected = g;
  renderGenerations();
  $('empty-main').hidden = true;
  $('gen-view').hidden = false;
  $('gen-name').textContent = g.name;
  $('gen-meta').replaceChildren(
    h('span', { class: 'fw', text: g.framework }),
    ` ${g.entrypoint} · ${g.file_count} file${g.file_count === 1 ? '' : 's'} · ${formatBytes(g.total_bytes)} · uploaded ${clock(g.created_at)}`);
  $('gen-id').textContent = g.id;
  hideNotice();
  $('logs-badge').hidden = true;
  $('logs-badge').textContent = '';
  endpoints.reset(g.id);
  checks.reset(g.id);
  $('status-message').textContent = 'Loading…';
  $('status-live').hidden = true;
  $('status-facts').replaceChildren();
  $('status-failure').hidden = true;
  updateControls();
  endpoints.load();
  checks.load();
  await refreshStatus();
}

// refreshStatus reads the preview's status and brings every panel in line.
async function refreshStatus() {
  const g = state.selected;
  if (!g) return;
  clearTimeout(state.pollTimer);
  const call = ++state.statusCalls;
  const current = () => state.selected === g && call === state.statusCalls;
  let st = null;
  try {
    ({ data: st } = await api.get(gen(g.id, '/preview/status')));
  } catch (e) {
    if (!current()) return;
    if (e.status === 404 && /generation not found/i.test(e.message)) {
      $('status-message').textContent = '';
      showNotice('This generation no longer exists: it may have been deleted elsewhere.', 'error');
      loadGenerations();
      return;
    }
    if (e.status !== 404 || e.code !== 'not_found') {
      $('status-message').textContent = `The status could not be read: ${e.message}`;
      schedulePoll();
      return;
    }
    st = null; // never launched
  }
  if (!current()) return;
  const wasLive = state.status && liveStatuses.has(state.status.status);
  state.status = st;
  const live = st && liveStatuses.has(st.status);
  const held = state.sessions.get(g.id);
  if (held && (!live || held.previewId !== st.preview_id)) {
    // The session's preview has ended (another may have been launched elsewhere).
    state.sessions.delete(g.id);
  }
  if (!live) {
    frame.unload(st ? 'The app is not running. Launch it to see it here.' : 'The app has not been launched yet. Press Launch to see it here.');
  }
  renderStatus(st);
  updateControls();
  syncLogs();
  if (wasLive && !live && st) {
    // It stopped while shown: the endpoint list loses what the app's
    // OpenAPI document added, so read it again.
    endpoints.load();
  }
  schedulePoll();
  if (live && !state.sessions.has(g.id) && !state.busy && state.attachedTo !== st.preview_id) {
    // Running without a session of this page (just selected, or launched
    // elsewhere): get one, once per preview.
    state.attachedTo = st.preview_id;
    await ensureSession(false);
  }
}

function schedulePoll() {
  clearTimeout(state.pollTimer);
  if (state.selected && document.visibilityState === 'visible') {
    state.pollTimer = setTimeout(refreshStatus, pollEvery);
  }
}

// ensureSession returns the running preview's session, asking previewd for
// one when there is none (or, with force, when the one held was refused).
// Launching a live preview is idempotent: it answers with a fresh session
// token and starts nothing.
async function ensureSession(force) {
  const g = state.selected;
  if (!g) return null;
  if (!force && state.sessions.has(g.id)) return state.sessions.get(g.id);
  if (!state.status || !liveStatuses.has(state.status.status)) return null;
  try {
    const { data } = await api.post(gen(g.id, '/preview/launch'), { json: {} });
    if (state.selected !== g) return null;
    return adoptSession(g, data);
  } catch (e) {
    if (state.selected === g) showNotice(`Could not open a session with the preview: ${e.message}`, 'error');
    return null;
  }
}

function adoptSession(g, data) {
  state.statusCalls++; // a status read under way predates this session
  state.attachedTo = data.preview_id;
  const session = { token: data.session_token, previewId: data.preview_id, proxyURL: data.proxy_url };
  state.sessions.set(g.id, session);
  schedulePoll();
  syncLogs(true);
  if (state.tab === 'app') loadFrame();
  return session;
}

// syncLogs follows the live log while there is a session, and shows the
// stored log of a preview that has ended.
function syncLogs(restart = false) {
  const g = state.selected;
  if (!g) return;
  const session = state.sessions.get(g.id);
  if (session) {
    if (restart || !logs.open) logs.follow(g.id, session);
    return;
  }
  const st = state.status;
  if (st && !liveStatuses.has(st.status) && !logs.open && logs.completeFor !== st.preview_id && state.storedLogFor !== st.preview_id) {
    state.storedLogFor = st.preview_id;
    logs.loadStored(api, g.id).catch((e) => logs.setState(`The log could not be read: ${e.message}`, 'problem'));
  }
}

let reconnectDelay = 1000;

// reconnectLogs opens the stream again after previewd refused it: with a
// fresh session while the preview runs, with growing pauses in between.
async function reconnectLogs() {
  const g = state.selected;
  setTimeout(async () => {
    if (state.selected !== g) return;
    await refreshStatus();
    if (state.selected !== g || !state.status || !liveStatuses.has(state.status.status)) return;
    if (await ensureSession(true)) reconnectDelay = 1000;
  }, reconnectDelay);
  reconnectDelay = Math.min(reconnectDelay * 2, 30000);
}

async function launch() {
  const g = state.selected;
  if (!g || state.busy) return;
  state.busy = 'launching';
  hideNotice();
  updateControls();
  const t0 = performance.now();
  const ticker = setInterval(() => {
    $('status-message').textContent = `Launching… building the container and waiting for the app to answer (${Math.round((performance.now() - t0) / 1000)} s).`;
  }, 500);
  try {
    const { status, data } = await api.post(gen(g.id, '/preview/launch'), { json: {} });
    if (state.selected !== g) return;
    state.busy = '';
    state.storedLogFor = '';
    adoptSession(g, data);
    const t = data.timings_ms || {};
    showNotice(status === 200
      ? 'The preview was already running; this page is now connected to it.'
      : `The app is running. It took ${((t.total || 0) / 1000).toFixed(1)} s to start.`, 'ok');
    await refreshStatus();
    endpoints.load(); // a running FastAPI app adds what its OpenAPI document knows
    checks.load();
  } catch (e) {
    if (state.selected !== g) return;
    state.busy = '';
    const tail = e.code === 'launch_failed' && Array.isArray(e.detail.log_tail) ? e.detail.log_tail : null;
    let text = e.message;
    if (e.code === 'launch_failed') {
      text = `The app did not start. ${causeHeadline(e.detail.cause)} ${explainExit(e.message, e.detail.exit_code, e.detail.oom_killed)}`.replace('  ', ' ');
    }
    showNotice(text, 'error', tail);
    await refreshStatus();
  } finally {
    clearInterval(ticker);
    if (state.selected === g) {
      state.busy = '';
      updateControls();
    }
  }
}

async function stop() {
  const g = state.selected;
  if (!g || state.busy) return;
  state.busy = 'stopping';
  updateControls();
  try {
    await api.delete(gen(g.id, '/preview'));
    if (state.selected !== g) return;
    showNotice('The preview was stopped.', 'info');
  } catch (e) {
    if (state.selected === g) showNotice(`The preview could not be stopped: ${e.message}`, 'error');
  } finally {
    if (state.selected === g) {
      state.busy = '';
      await refreshStatus();
    }
  }
}

function updateControls() {
  const st = state.status;
  const live = st && liveStatuses.has(st.status);
  const pill = $('status-pill');
  const word = state.busy || (st ? st.status : state.selected ? 'not launched' : '');
  pill.textContent = word;
  pill.className = `pill ${state.busy || (st ? st.status : 'none')}`;
  $('launch').disabled = Boolean(state.busy) || live;
  $('launch').textContent = st && !live ? 'Launch again' : 'Launch';
  $('stop').disabled = Boolean(state.busy) || !live;
}

// ---- notices ----

function showNotice(text, kind = 'error', logTail = null) {
  const box = $('notice');
  box.className = `alert ${kind === 'error' ? '' : kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  $('notice-text').textContent = text;
  const details = $('notice-details');
  details.hidden = !logTail || logTail.length === 0;
  details.open = false;
  $('notice-log').textContent = logTail ? logTail.join('\n') : '';
  box.hidden = false;
}

function hideNotice() {
  $('notice').hidden = true;
}

// ---- tabs ----

const tabs = ['status', 'logs', 'endpoints', 'checks', 'app'];

function selectTab(name, focus = false) {
  state.tab = name;
  for (const t of tabs) {
    const tab = $(`tab-${t}`);
    const on = t === name;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${t}`).hidden = !on;
    if (on && focus) tab.focus();
  }
  if (name === 'logs') {
    $('logs-badge').hidden = true;
    $('logs-badge').textContent = '';
  }
  if (name === 'app') loadFrame();
  if (name === 'checks') checks.load();
}

// ---- the app in an iframe ----

function loadFrame() {
  const session = state.selected && state.sessions.get(state.selected.id);
  if (session) frame.show(session);
}

// ---- wiring ----

function wire() {
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn($('token-input').value);
  });
  $('signout').addEventListener('click', () => signOut());
  $('gens-refresh').addEventListener('click', () => loadGenerations());
  $('gens-more').addEventListener('click', () => loadGenerations(true));
  $('launch').addEventListener('click', launch);
  $('stop').addEventListener('click', stop);
  $('notice-close').addEventListener('click', hideNotice);
  $('app-reload').addEventListener('click', () => {
    const session = state.selected && state.sessions.get(state.selected.id);
    if (session) frame.show(session, true);
  });
  // A changed folder goes up as the next revision; the running app is
  // updated and the iframe reloads on its revision event.
  $('app-patch-folder').addEventListener('change', async (ev) => {
    const g = state.selected;
    const files = ev.target.files;
    if (!g || !files || !files.length) return;
    show($('app-message'), 'Sending the changed files…');
    try {
      show($('app-message'), await sendFolder(api, g.id, files));
    } catch (e) {
      show($('app-message'), e.message, 'error');
    } finally {
      ev.target.value = '';
    }
  });
  for (const t of tabs) $(`tab-${t}`).addEventListener('click', () => selectTab(t));
  $('gen-view').querySelector('[role=tablist]').addEventListener('keydown', (ev) => {
    const i = tabs.indexOf(state.tab);
    if (ev.key === 'ArrowRight') selectTab(tabs[(i + 1) % tabs.length], true);
    else if (ev.key === 'ArrowLeft') selectTab(tabs[(i + tabs.length - 1) % tabs.length], true);
    else return;
    ev.preventDefault();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refreshStatus();
    else clearTimeout(state.pollTimer);
  });
}

wire();
$('signin-view').hidden = false;
$('token-input').focus();

// Exposed for tests and for poking around in the console.
window.previewd = { state, logs };
