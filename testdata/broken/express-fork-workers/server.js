const { spawn } = require('child_process');
const express = require('express');

const app = express();
app.get('/', (req, res) => res.send('hello'));

// Forty renderer scripts, each keeping ten helpers warm in the background.
const RENDERERS = 40;
let up = 0;

function failed() {
  console.error('renderer pool failed to start');
  process.exit(1);
}

for (let n = 0; n < RENDERERS; n++) {
  const w = spawn('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1000 & done; echo up; wait']);
  w.on('error', failed);
  w.on('exit', (code) => { if (code !== 0) failed(); });
  w.stdout.once('data', () => {
    if (++up === RENDERERS) app.listen(process.env.PORT || 3000);
  });
}
