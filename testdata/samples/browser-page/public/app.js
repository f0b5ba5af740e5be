// Runs in the preview's origin: it sets a cookie of its own, then shows what
// document.cookie holds there. The API origin's cookies and previewd's
// HttpOnly session cookie must not be among them. The page is shown in a
// cross-site iframe, where Chromium keeps only SameSite=None cookies, and
// those only Secure (which *.localhost counts as) and Partitioned.
document.cookie = 'app_cookie=set-by-preview-js; path=/; SameSite=None; Secure; Partitioned';
document.getElementById('origin').textContent = location.origin;
document.getElementById('cookies').textContent = document.cookie;
document.getElementById('status').textContent = 'js-ran';
