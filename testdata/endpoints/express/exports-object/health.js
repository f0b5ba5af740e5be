const express = require('express');

const router = express.Router();
router.get('/healthz', (req, res) => res.send('ok'));
router.get('/readyz', (req, res) => res.send('ready'));

exports.router = router;
