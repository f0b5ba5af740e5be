const express = require('express');
const path = require('path');

const weather = require('./weather');

const app = express();

app.use(express.static(path.join(__dirname, '..', 'public')));
app.use('/api/weather', weather);

app.get('/api/time', (req, res) => res.json({ now: Date.now() }));

module.exports = app;
