// Browser test app: a page with its own stylesheet and script, for the
// headless-Chromium test of the proxy (server/browser_test.go).
const path = require('path');
const express = require('express');

const app = express();
app.use(express.static(path.join(__dirname, 'public')));

const port = Number(process.env.PORT) || 8000;
const host = process.env.HOST || '0.0.0.0';
app.listen(port, host, () => {
  console.log(`listening on ${host}:${port}`);
});
