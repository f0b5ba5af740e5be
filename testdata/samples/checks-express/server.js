// Checks sample for Express: one route answers, one throws in its handler.
const express = require('express');

const app = express();

app.get('/', (req, res) => {
  res.send('<!doctype html><title>express checks</title><h1>hello</h1>');
});

app.get('/users/:id', (req, res) => {
  const user = undefined;
  res.json({ name: user.name });
});

const port = Number(process.env.PORT) || 8000;
app.listen(port, '0.0.0.0', () => console.log(`listening on ${port}`));
