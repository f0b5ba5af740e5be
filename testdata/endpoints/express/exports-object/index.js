const express = require('express');
const { usersRouter, itemsRouter } = require('./routes');
const health = require('./health');
const api = require('./api').router;

const app = express();
app.use(express.json());
app.use('/users', usersRouter);
app.use('/items', itemsRouter);
app.use(health.router);
app.use('/api', api);

app.listen(8000);
