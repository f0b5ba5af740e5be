'use strict';

var express = require('express');
var admin = exports = module.exports = express();

admin.get('/stats', function (req, res) {
  res.send({ users: 0 });
});
