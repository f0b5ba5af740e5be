// The status panel: what GET …/preview/status says, with live memory and
// CPU against the preview's caps.

import { $, h, formatBytes, formatDuration, relative, clock } from './dom.js';
import { sentence } from './api.js';

const statusWords = {
  running: 'The app is running.',
  starting: 'The app is starting: previewd is building the container and waiting for it to answer.',
  stopped: 'The preview is stopped. Launch it to run the app again.',
  expired: 'The preview ran out of time and was stopped. Launch it to run the app again.',
  failed: 'The preview failed.',
};

function setBar(id, value, max, label) {
  const bar = $(id);
  const pct = max > 0 && value !== null && value !== undefined ? Math.min(100, (value / max) * 100) : 0;
  bar.querySelector('.fill').style.width = `${pct}%`;
  bar.classList.toggle('high', pct >= 70 && pct < 90);
  bar.classList.toggle('full', pct >= 90);
  bar.setAttribute('aria-valuemax', String(max || 0));
  bar.setAttribute('aria-valuenow', String(value || 0));
  bar.setAttribute('aria-valuetext', label);
}

function fact(name, value, title) {
  return h('div', {}, h('dt', { text: name }), h('dd', { text: value, title }));
}

// renderStatus shows a status answer, or null for a generation never launched.
export function renderStatus(st) {
  const msg = $('status-message');
  const live = $('status-live');
  const facts = $('status-facts');
  const failure = $('status-failure');
  if (!st) {
    msg.textContent = 'This generation has not been launched yet. Press Launch to start it in a sandboxed container.';
    live.hidden = true;
    facts.replaceChildren();
    failure.hidden = true;
    return;
  }
  msg.textContent = statusWords[st.status] || `The preview is ${st.status}.`;

  const running = st.status === 'running';
  live.hidden = !running;
  if (running) {
    const mem = st.memory_bytes;
    const memMax = st.memory_limit_bytes;
    const memText = mem === null || mem === undefined
      ? `measuring… of ${formatBytes(memMax)}`
      : `${formatBytes(mem)} of ${formatBytes(memMax)} (${Math.round((mem / memMax) * 100)}%)`;
    $('mem-text').textContent = memText;
    setBar('mem-bar', mem, memMax, memText);
    const cpuMax = (st.cpu_limit || 0) * 100;
    const cpu = st.cpu_percent;
    const cpuText = cpu === null || cpu === undefined
      ? `measuring… of ${st.cpu_limit} CPU`
      : `${cpu.toFixed(1)}% of ${cpuMax.toFixed(0)}% (${st.cpu_limit} CPU)`;
    $('cpu-text').textContent = cpuText;
    setBar('cpu-bar', cpu, cpuMax, cpuText);
  }

  const rows = [fact('Preview', st.preview_id ? st.preview_id.slice(0, 8) : '—', st.preview_id)];
  if (running) {
    rows.push(fact('Uptime', formatDuration(st.uptime_seconds)));
    rows.push(fact('Started', clock(st.started_at)));
  } else if (st.stopped_at) {
    rows.push(fact('Stopped', `${clock(st.stopped_at)} (${relative(st.stopped_at)})`));
  }
  if (st.status === 'running' || st.status === 'starting') {
    rows.push(fact('Expires', `${relative(st.expires_at)} · ${clock(st.expires_at)}`));
    if (st.idle_expires_at) rows.push(fact('Stops when idle', relative(st.idle_expires_at), clock(st.idle_expires_at)));
  }
  rows.push(fact('Restarts', String(st.restarts ?? 0)));
  if (running && st.pids !== null && st.pids !== undefined) rows.push(fact('Processes', `${st.pids} of ${st.pids_limit ?? '—'}`));
  if (st.port) rows.push(fact('Port', String(st.port), st.base_url || ''));
  if (st.endpoint_count !== null && st.endpoint_count !== undefined) rows.push(fact('Endpoints', String(st.endpoint_count)));
  const t = st.timings_ms;
  if (t && t.total) rows.push(fact('Start time', `${(t.total / 1000).toFixed(1)} s`, `prepare ${t.prepare} ms · build ${t.build} ms · start ${t.start} ms · healthy ${t.healthy} ms`));
  if (st.exit_code !== null && st.exit_code !== undefined) rows.push(fact('Exit code', String(st.exit_code)));
  facts.replaceChildren(...rows);

  let problem = st.status === 'failed' || st.oom_killed || st.error
    ? explainExit(st.error || 'The preview failed.', st.status === 'failed' ? st.exit_code : null, st.oom_killed)
    : '';
  if (st.status === 'failed' && st.cause) problem = `${causeHeadline(st.cause)} ${problem}`;
  failure.hidden = !problem;
  failure.textContent = problem;
}

// causeHeadline says why a preview failed, and where in the app's own code:
// "Import error at routers/items.py:12 — ModuleNotFoundError: No module named
// 'stripe'. Hint: …".
export function causeHeadline(cause) {
  if (!cause || !cause.kind) return '';
  const kind = cause.kind.replaceAll('_', ' ');
  let where = cause.file || '';
  if (where && cause.line) where += `:${cause.line}`;
  let text = kind.charAt(0).toUpperCase() + kind.slice(1);
  if (where) text += ` at ${where}`;
  if (cause.message) text += ` — ${cause.message}`;
  text = sentence(text);
  if (cause.hint) text += ` Hint: ${sentence(cause.hint)}`;
  return text;
}

// explainExit is a failure's message, with the exit code and an out-of-memory
// kill added when the message does not say them already.
export function explainExit(message, exitCode, oomKilled) {
  const parts = [sentence(message)];
  if (oomKilled && !/memory/i.test(message)) parts.push('It was killed for using more memory than its limit.');
  if (exitCode !== null && exitCode !== undefined && !message.includes(`code ${exitCode}`)) parts.push(`It exited with code ${exitCode}.`);
  return parts.join(' ');
}
