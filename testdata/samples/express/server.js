// Express sample: the root answers here, items come from a Router module.
const express = require('express');
const items = require('./routes/items');

const app = express();

app.get('/', (req, res) => {
  res.type('text/plain').send('hello from express\n');
});
app.use('/api/items', items);

const port = Number(process.env.PORT) || 8000;
const host = process.env.HOST || '0.0.0.0';
app.listen(port, host, () => {
  console.log(`listening on ${host}:${port}`);
});
