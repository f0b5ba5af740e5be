'use strict';

var express = require('express');
var app = module.exports = express();
var api;

api = express.Router();
app.use('/api/v1', api);

api.get('/users', function (req, res) {
  res.send([]);
});

app.get('/', function (req, res) {
  res.send('home');
});

app.use('/admin', require('./admin'));
app.use('/blog', require('./routes/blog').router);

if (!module.parent) {
  app.listen(3000);
}
