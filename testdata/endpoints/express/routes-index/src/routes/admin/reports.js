const express = require('express');
const router = express.Router();

router.get('/sales', (req, res) => res.json([]));
router.get('/sales/:year/:month?', (req, res) => res.json([]));

module.exports = router;
