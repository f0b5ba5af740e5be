// The previewd API client: bearer token on every call, and every failure
// turned into an APIError whose message is a sentence for a person.

// APIError is a failed call. detail is the API's "error" object, when there is one.
export class APIError extends Error {
  constructor(status, code, message, detail = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

// sentence makes an API message read as a sentence: capital first, full stop last.
export function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}

const fallbackMessages = {
  401: 'previewd did not accept the token',
  403: 'this is not allowed',
  404: 'not found',
  413: 'the upload is too large',
  502: 'previewd or the app behind it answered with an error',
  503: 'previewd is not available right now; try again shortly',
  504: 'previewd did not answer in time',
};

// Client calls the API. token returns the bearer token; onUnauthorized runs
// when previewd refuses it (expired or revoked), except where a call says
// its 401 means something else.
export class Client {
  constructor(token, onUnauthorized) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  // call sends one request. opts: json (a value to send as JSON), body and
  // contentType (a raw body), headers, sessionAuth (a 401 is about a
  // session token, not the bearer token).
  async call(method, path, opts = {}) {
    const headers = { Accept: 'application/json', ...(opts.headers || {}) };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['Content-Type'] = 'application/json';
    } else if (opts.contentType) {
      headers['Content-Type'] = opts.contentType;
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body, cache: 'no-store', signal: opts.signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new APIError(0, 'network', 'previewd cannot be reached. Check that it is running, then try again.');
    }
    let data = null;
    if ((res.headers.get('Content-Type') || '').includes('json') && res.status !== 204) {
      try { data = await res.json(); } catch { data = null; }
    }
    if (res.ok) return { status: res.status, data };
    const err = (data && data.error) || {};
    const e = new APIError(res.status, err.code || `http_${res.status}`,
      sentence(err.message || fallbackMessages[res.status] || `previewd answered ${res.status}`), err);
    if (res.status === 401 && !opts.sessionAuth && this.onUnauthorized) this.onUnauthorized(e);
    throw e;
  }

  get(path, opts) { return this.call('GET', path, opts); }
  post(path, opts) { return this.call('POST', path, opts); }
  delete(path, opts) { return this.call('DELETE', path, opts); }
}

// gen is the API path of a generation, with more path after it.
export const gen = (id, rest = '') => `/api/v1/generations/${encodeURIComponent(id)}${rest}`;
