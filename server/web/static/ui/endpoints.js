// The endpoint panel: the app's routes as previewd found them, and a form
// that sends one request to the running app through POST …/preview/request.

import { $, h, show } from './dom.js';
import { gen } from './api.js';

const paramPattern = /\{([^}/]+)\}/g;

const statusText = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
  303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 415: 'Unsupported Media Type', 422: 'Unprocessable Content', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

export class EndpointPanel {
  // session() returns the running preview's session ({token, …}) or null;
  // refreshSession() gets a fresh one after the old one was refused.
  constructor(api, { session, refreshSession, onCount }) {
    this.api = api;
    this.session = session;
    this.refreshSession = refreshSession;
    this.onCount = onCount;
    this.generationId = '';
    this.template = '';
    this.loading = 0;

    this.method = $('try-method');
    this.path = $('try-path');
    this.params = $('try-params');
    $('try-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.send();
    });
    this.path.addEventListener('input', () => {
      // Edited by hand: the path no longer follows the parameter fields.
      this.template = '';
      this.params.replaceChildren();
    });
  }

  reset(generationId) {
    this.generationId = generationId;
    this.template = '';
    $('endpoints-rows').replaceChildren();
    $('endpoints-table').hidden = true;
    show($('endpoints-message'), '');
    this.method.value = 'GET';
    this.path.value = '/';
    this.params.replaceChildren();
    $('try-query').value = '';
    $('try-headers').value = '';
    $('try-body').value = '';
    show($('try-message'), '');
    $('try-result').hidden = true;
    this.onCount(null);
  }

  async load() {
    const id = this.generationId;
    const n = ++this.loading;
    const msg = $('endpoints-message');
    show(msg, 'Reading the app’s routes…');
    let data;
    try {
      ({ data } = await this.api.get(gen(id, '/preview/endpoints')));
    } catch (e) {
      if (n !== this.loading || id !== this.generationId) return;
      $('endpoints-table').hidden = true;
      show(msg, `The endpoint list is not available: ${e.message} You can still send requests below.`, 'error');
      this.onCount(null);
      return;
    }
    if (n !== this.loading || id !== this.generationId) return;
    const list = (data && data.endpoints) || [];
    this.onCount(list.length);
    const rows = list.map((ep) => this.row(ep));
    $('endpoints-rows').replaceChildren(...rows);
    $('endpoints-table').hidden = list.length === 0;
    const fw = data && data.framework ? ` (${data.framework})` : '';
    show(msg, list.length
      ? `${list.length} endpoint${list.length === 1 ? '' : 's'} found in the code${fw}.`
      : `No endpoints were found in the code${fw}. You can still send requests below.`);
  }

  row(ep) {
    const method = String(ep.method || 'GET').toUpperCase();
    const where = ep.file ? `${ep.file}${ep.line ? `:${ep.line}` : ''}` : '';
    const tr = h('tr', { dataset: { method, path: ep.path } },
      h('td', {}, h('span', { class: `method ${method}`, text: method })),
      h('td', { class: 'path', text: ep.path }),
      h('td', {},
        ep.summary ? h('span', { text: ep.summary }) : h('span', { class: 'muted', text: '—' }),
        ep.description && ep.description !== ep.summary ? h('span', { class: 'desc', text: ep.description }) : null),
      h('td', { class: 'where' },
        where ? h('span', { text: where }) : null,
        ep.source ? h('span', { class: 'src', text: ep.source, title: ep.source === 'openapi' ? 'from the running app’s OpenAPI document' : 'from reading the code' }) : null),
      h('td', { class: 'try-cell' },
        h('button', { type: 'button', class: 'btn small try-it', text: 'Try it', 'aria-label': `Try ${method} ${ep.path}`, onclick: () => this.pick(ep, tr) })));
    return tr;
  }

  // pick fills the form from an endpoint: method, path, a field per path
  // parameter, query names and a body to start from.
  pick(ep, tr) {
    for (const r of $('endpoints-rows').children) r.classList.toggle('selected', r === tr);
    let method = String(ep.method || 'GET').toUpperCase();
    if (method === 'ALL') method = 'GET'; // a route that answers every method
    if (![...this.method.options].some((o) => o.value === method)) this.method.append(h('option', { text: method }));
    this.method.value = method;
    this.template = ep.path || '/';
    const params = ep.params || [];
    const names = new Set([...this.template.matchAll(paramPattern)].map((m) => m[1]));
    for (const p of params) if (p.in === 'path') names.add(p.name);
    this.params.replaceChildren(...[...names].map((name) => {
      const p = params.find((x) => x.name === name && x.in === 'path') || {};
      const input = h('input', { id: `try-param-${name}`, type: 'text', dataset: { param: name }, placeholder: p.type || 'value', autocomplete: 'off', spellcheck: 'false' });
      input.addEventListener('input', () => this.fillPath());
      return h('div', { class: 'field' }, h('label', { for: input.id, text: `${name} (path)` }), input);
    }));
    this.fillPath();
    const query = params.filter((p) => p.in === 'query').map((p) => `${p.name}=`);
    $('try-query').value = query.join('\n');
    const body = params.filter((p) => p.in === 'body');
    $('try-body').value = body.length ? JSON.stringify(Object.fromEntries(body.map((p) => [p.name, null])), null, 2) : '';
    if (query.length || body.length) document.querySelector('.try-more').open = true;
    show($('try-message'), '');
    const first = this.params.querySelector('input');
    (first || this.path).focus();
  }

  fillPath() {
    if (!this.template) return;
    const values = {};
    for (const input of this.params.querySelectorAll('input')) values[input.dataset.param] = input.value;
    this.path.value = this.template.replace(paramPattern, (m, name) => (values[name] ? encodeURIComponent(values[name]) : m));
  }

  // request builds the body of POST …/preview/request from the form.
  request() {
    const query = {};
    for (const line of $('try-query').value.split('\n')) {
      if (!line.trim()) continue;
      for (const [k, v] of new URLSearchParams(line.trim())) (query[k] ||= []).push(v);
    }
    const headers = {};
    for (const line of $('try-headers').value.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    const body = $('try-body').value;
    if (body.trim() && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      try {
        JSON.parse(body);
        headers['Content-Type'] = 'application/json';
      } catch { /* not JSON: let the app decide */ }
    }
    let path = this.path.value.trim() || '/';
    if (!path.startsWith('/')) path = `/${path}`;
    return { method: this.method.value, path, query, headers, body };
  }

  async send() {
    const msg = $('try-message');
    const req = this.request();
    const missing = [...req.path.matchAll(paramPattern)].map((m) => m[1]);
    if (missing.length) {
      show(msg, `Fill in ${missing.map((n) => `{${n}}`).join(', ')} in the path first.`, 'error');
      return;
    }
    let session = this.session();
    if (!session) {
      show(msg, 'The preview is not running. Launch it to send requests to the app.', 'error');
      return;
    }
    const button = $('try-send');
    button.disabled = true;
    show(msg, `Sending ${req.method} ${req.path}…`);
    try {
      let res;
      try {
        res = await this.post(session, req);
      } catch (e) {
        if (e.status !== 401) throw e;
        // The session token was refused (expired): get a fresh one, once.
        session = await this.refreshSession();
        if (!session) throw e;
        res = await this.post(session, req);
      }
      show(msg, '');
      this.render(res.data);
      $('try-result').scrollIntoView({ block: 'nearest' });
    } catch (e) {
      $('try-result').hidden = true;
      show(msg, e.message, 'error');
    } finally {
      button.disabled = false;
    }
  }

  post(session, req) {
    return this.api.post(gen(this.generationId, '/preview/request'), {
      json: req, headers: { 'X-Preview-Token': session.token }, sessionAuth: true,
    });
  }

  render(r) {
    $('try-result').hidden = false;
    const code = $('try-code');
    code.textContent = `${r.status_code} ${statusText[r.status_code] || ''}`.trim();
    code.className = `code ${r.status_code < 300 ? 'ok' : r.status_code < 400 ? 'redirect' : r.status_code < 500 ? 'client' : 'server'}`;
    $('try-duration').textContent = `${r.duration_ms} ms${r.truncated ? ' · body cut at the size limit' : ''}`;
    const headers = r.headers || {};
    $('try-headers-out').textContent = Object.keys(headers).sort()
      .map((k) => `${k}: ${[].concat(headers[k]).join(', ')}`).join('\n') || '(none)';
    $('try-body-out').textContent = bodyText(r, headers);
  }
}

// bodyText shows a response body: JSON pretty-printed, text as it is, and
// binary as a sentence with the start of its base64.
function bodyText(r, headers) {
  const body = r.body || '';
  if (r.body_encoding === 'base64') {
    const size = Math.floor(body.length * 3 / 4) - (body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0);
    return `A binary body of ${size} bytes (base64):\n${body.slice(0, 2000)}${body.length > 2000 ? '…' : ''}`;
  }
  if (!body) return '(empty body)';
  const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type');
  const looksJSON = (type && /json/i.test([].concat(type[1]).join(''))) || /^\s*[[{]/.test(body);
  if (looksJSON) {
    try { return JSON.stringify(JSON.parse(body), null, 2); } catch { /* shown as text */ }
  }
  return body;
}
