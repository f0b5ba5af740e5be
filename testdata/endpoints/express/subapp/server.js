const express = require('express');
const cookieParser = require('cookie-parser');

const app = express();
const admin = express();
const v1 = express.Router();

app.use(cookieParser());

admin.get('/', (req, res) => res.send('Admin home'));
admin.get('/users', (req, res) => res.json([]));

v1.get('/status', (req, res) => res.json({ ok: true }));

app.use('/admin', admin);
app.use('/v1', v1);

app.get('/', (req, res) => res.send('Main home'));

app.listen(8000);
