const express = require('express');
const reports = require('./reports');

const router = express.Router();

router.use('/reports', reports);
router.post('/reindex', (req, res) => res.json({ ok: true }));

module.exports = router;
