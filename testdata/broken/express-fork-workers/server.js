const { spawn } = require('child_process');
const express = require('express');

const app = express();
app.get('/', (req, res) => res.send('hello'));

// One renderer process per template, kept warm.
const TEMPLATES = 1000;
const workers = [];
for (let n = 0; n < TEMPLATES; n++) {
  const w = spawn('sleep', ['infinity']);
  w.on('error', () => {
    console.error('renderer pool failed to start');
    process.exit(1);
  });
  workers.push(w);
}

app.listen(process.env.PORT || 3000);
