// Proxy test app: shows what arrives, and answers in every way a browser
// proxy has to carry (cookies, redirects, streams, SSE, binary, WebSocket).
const http = require('http');
const express = require('express');
const { WebSocketServer } = require('ws');

const app = express();
const name = process.env.PREVIEW_NAME || '';

// Every request that reaches the app is counted, so a test can tell that one did not.
let seen = 0;
app.use((req, res, next) => { seen++; next(); });
app.get('/count', (req, res) => res.json({ name, seen }));
app.use(express.raw({ type: () => true, limit: '50mb' }));

function cookies(req) {
  const out = {};
  for (const part of (req.headers.cookie || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

app.all(/^\/echo(\/.*)?$/, (req, res) => {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  res.json({
    name,
    method: req.method,
    path: req.path,
    url: req.originalUrl,
    query: req.query,
    headers: req.headers,
    cookies: cookies(req),
    body_base64: body.toString('base64'),
    body_length: body.length,
  });
});

app.get('/set-cookie', (req, res) => {
  res.cookie('app_cookie', 'yummy', { httpOnly: true });
  res.type('text/plain').send('cookie set\n');
});

app.get('/evil-cookie', (req, res) => {
  res.append('Set-Cookie', 'evil=1; Domain=preview.localhost; Path=/');
  res.append('Set-Cookie', 'good=1; Path=/');
  res.type('text/plain').send('cookies set\n');
});

// A policy of the app's own, which previewd's sandbox must not replace.
app.get('/csp', (req, res) => {
  res.set('Content-Security-Policy', "default-src 'self'");
  res.type('text/html').send('<p>own policy</p>\n');
});

app.get('/redirect', (req, res) => res.redirect(302, '/echo/redirected'));

app.get('/stream', async (req, res) => {
  res.type('text/plain');
  for (let i = 0; i < 5; i++) {
    res.write(`line ${i}\n`);
    await new Promise(r => setTimeout(r, 50));
  }
  res.end();
});

app.get('/events', async (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  res.write('event: tick\ndata: first\n\n');
  // The rest comes much later, so a proxy that buffers is caught.
  await new Promise(r => setTimeout(r, 1500));
  res.write('event: tick\ndata: last\n\n');
  res.end();
});

app.get('/reset', (req, res) => req.socket.destroy());

app.get('/binary', (req, res) => {
  const b = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) b[i] = i;
  res.type('application/octet-stream').send(b);
});

app.get('/slow', (req, res) => {
  setTimeout(() => res.type('text/plain').send('slow done\n'), Number(req.query.ms) || 1000);
});

app.all('/status/:code', (req, res) => {
  res.status(Number(req.params.code)).type('text/plain').send(`status ${req.params.code}\n`);
});

app.get('/big', (req, res) => {
  res.type('text/plain').send('x'.repeat(Number(req.query.bytes) || 1024));
});

app.get('/', (req, res) => res.type('text/plain').send('hello from proxy-echo\n'));

const server = http.createServer(app);
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', ws => {
  ws.on('message', (data, isBinary) => ws.send(isBinary ? data : 'echo: ' + data.toString(), { binary: isBinary }));
});

const port = Number(process.env.PORT) || 8000;
const host = process.env.HOST || '0.0.0.0';
server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
