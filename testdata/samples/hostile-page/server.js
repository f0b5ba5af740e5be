// Hostile browser test app: its page tries to reach what the person looking
// at it holds on previewd's origin, and reports what it got back to this
// server (GET /reports), as an attacker's page would beacon it into the
// preview's log. For server/isolation_test.go.
const path = require('path');
const express = require('express');

const app = express();
const reports = [];

app.post('/report', express.text({ type: () => true, limit: '1mb' }), (req, res) => {
  reports.push(String(req.body));
  console.log(`report ${req.body}`);
  res.type('text/plain').send('ok\n');
});
app.get('/reports', (req, res) => res.json(reports));

// The page itself tries to leave a cookie for previewd's whole origin.
app.use((req, res, next) => {
  if (req.path === '/') res.append('Set-Cookie', 'hostile_hdr=1; Path=/');
  next();
});
app.use(express.static(path.join(__dirname, 'public')));

const port = Number(process.env.PORT) || 8000;
const host = process.env.HOST || '0.0.0.0';
app.listen(port, host, () => {
  console.log(`listening on ${host}:${port}`);
});
