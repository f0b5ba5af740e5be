const express = require('express');
const app = express();
app.get('/api/hello', (req, res) => res.json({ hello: 'world' }));
app.get('/*splat', (req, res) => res.send('catch-all: ' + req.params.splat.join('/')));
app.listen(process.env.PORT || 3000);
