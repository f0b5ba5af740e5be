const express = require('express');
const { secret } = require('./config');

const app = express();
app.get('/', (req, res) => res.send(secret.length ? 'ok' : 'no'));

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
