const express = require('express');
const app = express();

// Every method on the health endpoint
app.all('/health', (req, res) => res.send('ok'));

app.get(/.*fly$/, (req, res) => res.send('/.*fly$/'));

app.get(['/about', '/about-us'], (req, res) => res.send('about'));

app.get('/files/:name(\\w+).:ext', (req, res) => res.send(req.params.name));

app.get('/users/:id(\\d+)', (req, res) => res.send(req.params.id));

app.get('/docs/:page*', (req, res) => res.send(req.params.page));

app.use('/api', require('./api'));

// SPA fallback. Debian's Express uses path-to-regexp 6, where a bare '*'
// is a syntax error: '(.*)' is the catch-all.
app.get('/(.*)', (req, res) => res.status(404).send('Not found'));

app.listen(8000);
