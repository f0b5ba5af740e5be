const { spawn } = require('child_process');
const express = require('express');

const app = express();
app.get('/', (req, res) => res.send('hello'));

// One renderer process per template, kept warm.
const TEMPLATES = 1000;
const workers = [];
let failed = false;

function startWorker(n) {
  const w = spawn('sleep', ['infinity']);
  w.on('error', () => {
    if (!failed) {
      failed = true;
      console.error('renderer pool failed to start');
      process.exit(1);
    }
  });
  w.on('spawn', () => {
    workers.push(w);
    if (workers.length + 1 < TEMPLATES && !failed) startWorker(n + 1);
    else if (workers.length + 1 >= TEMPLATES) app.listen(process.env.PORT || 3000);
  });
}
startWorker(0);
