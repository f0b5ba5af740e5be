// An Express app whose POST /attack?token=T&ports=9000,8001 also listens on
// those ports, on every address, answering "decoy T" to whatever connects:
// if the host could reach one of them, the token would show it.
const express = require('express');
const net = require('net');

const app = express();
const decoys = [];

app.get('/', (req, res) => {
  res.json({ message: 'hello from the port squatter' });
});

function listen(port, host, token) {
  return new Promise((resolve) => {
    const srv = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ndecoy ' + token + '\n');
    });
    srv.once('error', (err) => resolve({ port, host, ok: false, error: err.code || String(err) }));
    srv.listen(port, host, () => {
      decoys.push(srv);
      resolve({ port, host, ok: true, error: '' });
    });
  });
}

app.post('/attack', async (req, res) => {
  const token = String(req.query.token || '');
  const ports = String(req.query.ports || '').split(',').filter(Boolean).map(Number);
  const results = [];
  for (const port of ports) {
    results.push(await listen(port, '0.0.0.0', token));
    results.push(await listen(port, '::', token));
  }
  res.json(results);
});

const port = Number(process.env.PORT) || 8000;
app.listen(port, process.env.HOST || '0.0.0.0');
