const express = require('express');
const app = express();
app.get('/api/hello', (req, res) => res.json({ hello: 'world' }));
app.get('*', (req, res) => res.send('catch-all'));
app.listen(process.env.PORT || 3000);
