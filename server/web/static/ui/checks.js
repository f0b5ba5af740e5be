// The checks panel: what previewd found when it called the app's endpoints
// and rendered its pages in a headless browser, once the preview was healthy.

import { $, h, show } from './dom.js';
import { gen } from './api.js';
import { causeHeadline } from './status.js';

const stateWords = {
  pending: 'The checks run once the preview is healthy.',
  running: 'Checking the app’s endpoints and pages…',
  skipped: 'The checks were skipped for this preview (launched with "checks": false).',
  off: 'Checks are turned off on this previewd (PREVIEW_CHECKS=off).',
  none: 'The preview ended before it became healthy: nothing was checked.',
};

function codeClass(status) {
  if (status === null || status === undefined) return 'code server';
  if (status >= 500) return 'code server';
  if (status >= 400) return 'code client';
  if (status >= 300) return 'code redirect';
  return 'code ok';
}

export class ChecksPanel {
  // api is the Client; token returns the bearer token (the screenshot is
  // fetched with it, as an <img> cannot send it).
  constructor(api, token, { onFailing }) {
    this.api = api;
    this.token = token;
    this.onFailing = onFailing;
    this.genId = '';
    this.calls = 0;
    this.shotURL = '';
  }

  reset(genId) {
    this.genId = genId;
    this.calls++;
    show($('checks-message'), '');
    $('checks-summary').textContent = '';
    $('checks-table').hidden = true;
    $('checks-rows').replaceChildren();
    $('checks-browser').hidden = true;
    this.dropShot();
    this.onFailing(null);
  }

  dropShot() {
    if (this.shotURL) URL.revokeObjectURL(this.shotURL);
    this.shotURL = '';
    $('checks-shot').removeAttribute('src');
    $('checks-shot').hidden = true;
  }

  async load() {
    const id = this.genId;
    if (!id) return;
    const call = ++this.calls;
    let data;
    try {
      ({ data } = await this.api.get(gen(id, '/preview/checks')));
    } catch (e) {
      if (call !== this.calls) return;
      if (e.status === 404) show($('checks-message'), 'This generation has not been launched yet.');
      else show($('checks-message'), `The checks could not be read: ${e.message}`, 'error');
      return;
    }
    if (call !== this.calls) return;
    this.render(data);
  }

  render(c) {
    show($('checks-message'), stateWords[c.state] && c.state !== 'done' && !(c.state === 'running' && c.checked_at) ? stateWords[c.state] : '');
    $('checks-summary').textContent = c.summary ? `Revision ${c.revision}: ${c.summary}` : '';
    const rows = [];
    let failing = 0;
    for (const ep of c.endpoints || []) {
      const bad = ep.status === null || ep.status >= 500;
      if (bad) failing++;
      const what = ep.cause ? causeHeadline(ep.cause) : (ep.error || '');
      rows.push(h('tr', { class: bad ? 'failing' : '' },
        h('td', {}, h('span', { class: `method ${ep.method}`, text: ep.method })),
        h('td', { class: 'path', title: ep.url, text: ep.path }),
        h('td', {}, h('span', { class: codeClass(ep.status), text: ep.status ?? 'no answer' })),
        h('td', { class: 'num', text: `${Math.round(ep.duration_ms)} ms` }),
        h('td', { class: 'what' }, what,
          ep.log && ep.log.length && (bad || ep.status >= 400)
            ? h('details', { open: bad }, h('summary', { text: `${ep.log.length} log line${ep.log.length === 1 ? '' : 's'} during the call` }),
              h('pre', { class: 'check-log', text: ep.log.join('\n') }))
            : null)));
    }
    $('checks-rows').replaceChildren(...rows);
    $('checks-table').hidden = rows.length === 0;
    this.onFailing(c.checked_at ? failing : null);
    this.renderBrowser(c.browser);
  }

  renderBrowser(b) {
    const box = $('checks-browser');
    if (b === null || b === undefined) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const list = $('checks-browser-list');
    if (b === 'unavailable') {
      $('checks-browser-head').textContent = 'No browser on this previewd host (install Chromium for the browser check).';
      list.replaceChildren();
      this.dropShot();
      return;
    }
    const pages = b.pages || [];
    $('checks-browser-head').textContent = `${pages.length} page${pages.length === 1 ? '' : 's'} rendered; the root page answered ${b.status || 'nothing'}${b.error ? ` — ${b.error}` : ''}.`;
    const items = [];
    for (const p of pages) {
      for (const x of p.exceptions || []) items.push(h('li', { class: 'bad', text: `${p.path}: uncaught ${x.message}${x.url ? ` (${x.url}:${x.line})` : ''}` }));
      for (const m of p.console || []) items.push(h('li', { class: m.level === 'error' ? 'bad' : 'warn', text: `${p.path}: console ${m.level}: ${m.text}` }));
      for (const f of p.failed_requests || []) items.push(h('li', { class: 'bad', text: `${p.path}: ${f.method || 'GET'} ${f.url} ${f.status || f.error}` }));
    }
    if (!items.length) items.push(h('li', { class: 'ok', text: 'No console errors, exceptions or failed requests.' }));
    list.replaceChildren(...items);
    if (b.screenshot_url) this.loadShot(b.screenshot_url);
    else this.dropShot();
  }

  async loadShot(url) {
    const call = this.calls;
    try {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${this.token()}` }, cache: 'no-store' });
      if (!res.ok || call !== this.calls) return;
      const blob = await res.blob();
      if (call !== this.calls) return;
      this.dropShot();
      this.shotURL = URL.createObjectURL(blob);
      $('checks-shot').src = this.shotURL;
      $('checks-shot').hidden = false;
    } catch { /* the screenshot stays out */ }
  }
}
