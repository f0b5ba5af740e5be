const express = require('express');

function attachAdmin(app) {
  const admin = express.Router();
  admin.get('/stats', (req, res) => res.json({}));
  admin.post('/flush', (req, res) => res.json({}));
  app.use('/admin', admin);
}

module.exports = { attachAdmin };
