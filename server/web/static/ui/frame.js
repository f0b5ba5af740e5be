// The running app, in an iframe.

import { $, show } from './dom.js';

export class AppFrame {
  constructor() {
    this.el = $('app-frame');
    this.openedWith = ''; // the session token the iframe was opened with
    this.resumeURL = ''; // the address that reloads the page it was on
  }

  // show opens the preview of session in the iframe, unless it is open
  // already; again reloads it. The address is the preview's proxy_url (a host
  // of its own) or, with path routing, previewd's /p/<id>/; its first request
  // carries the session token, which previewd trades for a cookie and drops
  // from the address.
  show(session, again = false) {
    const base = session.proxyURL || `/p/${session.previewId}/`;
    const url = `${base}?token=${encodeURIComponent(session.token)}`;
    $('app-address').textContent = new URL(base, location.href).href;
    $('app-open').href = url;
    $('app-open').hidden = false;
    $('app-reload').disabled = false;
    if (this.openedWith === session.token && !again) return;
    // A preview on previewd's own origin (path routing) runs sandboxed
    // without that origin (previewd's answers say so too, for a new tab);
    // on a host of its own it keeps its origin but cannot navigate this page.
    const sameOrigin = new URL(url, location.href).origin === location.origin;
    this.el.setAttribute('sandbox', sameOrigin
      ? 'allow-scripts allow-forms allow-popups allow-modals allow-downloads'
      : 'allow-scripts allow-same-origin allow-forms allow-popups allow-modals allow-downloads');
    show($('app-message'), sameOrigin
      ? 'This preview shares previewd’s address (path routing), so it runs sandboxed, without cookies or storage of its own. Set PREVIEW_PUBLIC_DOMAIN for a full preview.'
      : '');
    this.el.src = url;
    this.el.hidden = false;
    this.openedWith = session.token;
    this.resumeURL = `${url}&previewd_resume=`;
  }

  // revisionLive reloads the app after an update in place, on the page the
  // user was on. That page is of another origin (a host of its own, or a
  // sandbox without an origin), whose address this page cannot read:
  // previewd remembers the page the session's iframe loaded last and sends
  // a ?previewd_resume= request there.
  revisionLive(revision) {
    if (!this.el.src || this.el.hidden || !this.resumeURL) return;
    show($('app-message'), '');
    // A new address each time: one equal to the current src may not be
    // loaded again.
    this.el.src = this.resumeURL + encodeURIComponent(revision);
    $('app-address').title = `revision ${revision}`;
  }

  // revisionFailed says that an update did not start; the app shown is
  // still the one before it.
  revisionFailed(revision, error) {
    show($('app-message'), `Revision ${revision} failed to start; the previous revision keeps serving. ${error}`);
  }

  // unload empties the iframe and says why.
  unload(message) {
    this.el.hidden = true;
    this.el.removeAttribute('src');
    this.openedWith = '';
    this.resumeURL = '';
    $('app-address').textContent = '—';
    $('app-open').hidden = true;
    $('app-reload').disabled = true;
    show($('app-message'), message);
  }
}
