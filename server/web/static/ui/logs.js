// The log panel: a preview's log, replayed and followed live over
// server-sent events, coloured by stream, filtered, paused and resumed.

import { $, h, timeOfDay } from './dom.js';
import { gen } from './api.js';

// maxLines bounds what the page keeps; older lines are dropped.
const maxLines = 5000;

const live = (status) => status === 'starting' || status === 'running';

export class LogPanel {
  // onStatus(status) runs on the stream's status events; onLost() when the
  // stream was refused (its session expired, say) and the caller may open it
  // again with a fresh session token; onLine() for each new line.
  constructor({ onStatus, onLost, onLine, onChecks, onRevision }) {
    this.onStatus = onStatus;
    this.onChecks = onChecks;
    this.onRevision = onRevision || (() => {});
    this.onLost = onLost;
    this.onLine = onLine || (() => {});
    this.box = $('log-lines');
    this.stateEl = $('log-state');
    this.followBtn = $('log-follow');
    this.filterInput = $('log-filter');
    this.es = null;
    this.previewId = '';
    this.completeFor = ''; // the preview whose whole log is shown
    this.lastSeq = 0;
    this.paused = false;
    this.buffer = []; // lines that arrived while paused
    this.pending = []; // lines waiting for the next batched append
    this.flushTimer = 0;
    this.filter = '';

    this.followBtn.addEventListener('click', () => this.setPaused(!this.paused));
    $('log-clear').addEventListener('click', () => {
      this.box.replaceChildren();
      this.dropPending();
      this.buffer = [];
      this.updateFollowLabel();
    });
    this.filterInput.addEventListener('input', () => {
      this.filter = this.filterInput.value.trim().toLowerCase();
      for (const el of this.box.children) this.applyFilter(el);
    });
    for (const box of document.querySelectorAll('.streams input')) {
      box.addEventListener('change', () => this.box.classList.toggle(`hide-${box.value}`, !box.checked));
    }
  }

  // reset forgets everything shown, for another generation.
  reset() {
    this.close();
    this.dropPending();
    this.previewId = '';
    this.completeFor = '';
    this.lastSeq = 0;
    this.buffer = [];
    this.box.replaceChildren();
    this.setState('', '');
    this.setPaused(false);
  }

  // forPreview starts over when the log is another preview's: seq numbers
  // count per preview.
  forPreview(previewId) {
    if (previewId && previewId !== this.previewId) {
      const had = this.box.children.length > 0;
      this.close();
      this.dropPending();
      this.lastSeq = 0;
      this.buffer = [];
      this.box.replaceChildren();
      if (had) this.note(`New preview ${previewId.slice(0, 8)}: its log starts here.`);
      this.previewId = previewId;
    }
  }

  // follow opens the live stream of the session's preview. The browser's
  // EventSource reconnects by itself after a dropped connection and resumes
  // with Last-Event-ID; ?since= covers a stream opened anew.
  follow(generationId, session) {
    this.forPreview(session.previewId);
    this.close();
    let url = `${gen(generationId, '/preview/logs/stream')}?token=${encodeURIComponent(session.token)}`;
    if (this.lastSeq > 0) url += `&since=${this.lastSeq}`;
    const es = new EventSource(url);
    this.es = es;
    this.setState('Connecting…', '');
    es.onopen = () => this.setState('● Live', 'live');
    es.addEventListener('log', (ev) => {
      let l;
      try { l = JSON.parse(ev.data); } catch { return; }
      this.add(l);
    });
    es.addEventListener('status', (ev) => {
      try { this.onStatus(JSON.parse(ev.data).status); } catch { /* a malformed event changes nothing */ }
    });
    es.addEventListener('checks', () => { if (this.onChecks) this.onChecks(); });
    // An update of the running app: {"revision", "status": "reloading" |
    // "running" | "failed", "error"}.
    es.addEventListener('revision', (ev) => {
      try { this.onRevision(JSON.parse(ev.data)); } catch { /* a malformed event changes nothing */ }
    });
    es.addEventListener('end', (ev) => {
      // The preview has ended and every line was sent: without close, the
      // EventSource would reconnect.
      es.close();
      if (this.es === es) this.es = null;
      let status = 'stopped';
      try { status = JSON.parse(ev.data).status || status; } catch { /* keep the default */ }
      this.completeFor = this.previewId;
      this.setState(`Log complete: the preview ${status}.`, '');
      this.onStatus(status);
    });
    es.addEventListener('shutdown', () => this.setState('previewd is restarting; reconnecting…', 'problem'));
    // (EventSource reconnects by itself once previewd closes the stream.)
    es.onerror = () => {
      if (this.es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // The server refused the stream (not a dropped connection): the
        // session may have expired. The caller decides whether to reopen.
        this.es = null;
        this.setState('Disconnected; trying again…', 'problem');
        this.onLost();
      } else {
        this.setState('Connection lost; reconnecting…', 'problem');
      }
    };
  }

  // loadStored shows the stored log of the generation's latest preview
  // (bearer token, no session needed): for a preview that has ended.
  async loadStored(api, generationId) {
    this.close();
    for (let i = 0; i < 50; i++) {
      const { data } = await api.get(`${gen(generationId, '/preview/logs')}?since=${this.lastSeq}&limit=1000`);
      this.forPreview(data.preview_id);
      for (const l of data.lines || []) this.add(l);
      if (!data.lines || data.lines.length < 1000) {
        if (!live(data.status)) this.completeFor = data.preview_id;
        this.setState(live(data.status) ? `Stored log: the preview is ${data.status}.` : `Log complete: the preview ${data.status}.`, '');
        return;
      }
    }
  }

  dropPending() {
    clearTimeout(this.flushTimer);
    this.flushTimer = 0;
    this.pending = [];
  }

  close() {
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  get open() { return this.es !== null; }

  setState(text, kind) {
    this.stateEl.textContent = text;
    this.stateEl.className = `log-state muted small ${kind}`;
  }

  add(l) {
    if (typeof l.seq === 'number') {
      if (l.seq <= this.lastSeq) return; // already shown
      this.lastSeq = l.seq;
    }
    const el = h('div', { class: `line ${l.stream}`, dataset: { seq: l.seq, stream: l.stream } },
      h('span', { class: 'ts', text: timeOfDay(l.ts) }),
      h('span', { class: 'tag', text: l.stream }),
      h('span', { class: 'text', text: l.line }));
    this.onLine(l);
    if (this.paused) {
      this.buffer.push(el);
      if (this.buffer.length > maxLines) this.buffer.shift();
      this.updateFollowLabel();
      return;
    }
    // A replay or a flood brings many lines at once: they are added in
    // batches, so the page lays out and scrolls once per batch, not per line.
    this.pending.push(el);
    if (this.pending.length > maxLines) this.pending.shift();
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = 0;
        const els = this.pending;
        this.pending = [];
        this.append(els);
      }, 40);
    }
  }

  note(text) {
    this.append([h('div', { class: 'note', text })]);
  }

  append(els) {
    for (const el of els) this.applyFilter(el);
    this.box.append(...els);
    while (this.box.children.length > maxLines) this.box.firstElementChild.remove();
    this.box.scrollTop = this.box.scrollHeight;
  }

  applyFilter(el) {
    if (!el.classList.contains('line')) return;
    el.classList.toggle('filtered', this.filter !== '' && !el.textContent.toLowerCase().includes(this.filter));
  }

  // setPaused stops or restarts following: while paused, new lines wait
  // below the view and the view stays where it is.
  setPaused(paused) {
    if (paused && this.pending.length) {
      this.buffer.push(...this.pending);
      this.dropPending();
    }
    this.paused = paused;
    if (!paused && this.buffer.length) {
      const els = this.buffer;
      this.buffer = [];
      this.append(els);
    } else if (!paused) {
      this.box.scrollTop = this.box.scrollHeight;
    }
    this.updateFollowLabel();
  }

  updateFollowLabel() {
    this.followBtn.setAttribute('aria-pressed', String(!this.paused));
    this.followBtn.textContent = this.paused
      ? (this.buffer.length ? `Resume (${this.buffer.length} new)` : 'Resume')
      : 'Pause';
  }
}
