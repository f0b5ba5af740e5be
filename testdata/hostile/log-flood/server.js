// An Express app whose POST /attack?seconds=N prints numbered lines to stdout
// as fast as it can for N seconds, from a worker thread writing straight to
// fd 1, so the main thread keeps answering. GET /count tells how far it got.
const express = require('express');
const { Worker } = require('worker_threads');

const FLOOD = `
const fs = require('fs');
const { workerData, parentPort } = require('worker_threads');
const pad = 'x'.repeat(180);
const end = Date.now() + workerData * 1000;
let n = 0;
while (Date.now() < end) {
  let chunk = '';
  for (let i = 0; i < 200; i++) chunk += 'flood n=' + (n + i) + ' ' + pad + '\\n';
  const buf = Buffer.from(chunk);
  for (let off = 0; off < buf.length; ) {
    try {
      off += fs.writeSync(1, buf, off);
    } catch (err) {
      // Node made stdout non-blocking: a full pipe is EAGAIN, so try again.
      if (err.code !== 'EAGAIN') throw err;
    }
  }
  n += 200;
  parentPort.postMessage(n);
}
`;

const app = express();
const state = { printed: 0, done: false, started: false };

app.get('/', (req, res) => {
  res.json({ message: 'hello from the log flood' });
});

app.post('/attack', (req, res) => {
  const seconds = Number(req.query.seconds) || 5;
  const w = new Worker(FLOOD, { eval: true, workerData: seconds });
  state.started = true;
  w.on('message', (n) => { state.printed = n; });
  w.on('exit', () => { state.done = true; });
  res.json({ seconds });
});

app.get('/count', (req, res) => {
  res.json(state);
});

const port = Number(process.env.PORT) || 8000;
app.listen(port, process.env.HOST || '0.0.0.0');
