// An Express app whose POST /attack?seconds=N spins every CPU it can see, twice
// over, in worker threads for N seconds; the main thread stays free to answer.
const express = require('express');
const os = require('os');
const { Worker } = require('worker_threads');

const SPIN = `
const { workerData } = require('worker_threads');
const end = Date.now() + workerData * 1000;
let x = 0;
while (Date.now() < end) { x++; }
`;

const app = express();
let running = 0;

app.get('/', (req, res) => {
  res.json({ message: 'hello from the cpu spinner', running });
});

app.post('/attack', (req, res) => {
  const seconds = Number(req.query.seconds) || 5;
  const threads = Math.max(4, os.cpus().length * 2);
  for (let i = 0; i < threads; i++) {
    const w = new Worker(SPIN, { eval: true, workerData: seconds });
    running++;
    w.on('exit', () => { running--; });
  }
  res.json({ threads, seconds });
});

const port = Number(process.env.PORT) || 8000;
app.listen(port, process.env.HOST || '0.0.0.0');
