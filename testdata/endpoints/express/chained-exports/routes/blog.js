const express = require('express');

const router = express.Router();
module.exports.router = router;

router.get('/posts', (req, res) => res.json([]));
router.get('/posts/:id', (req, res) => res.json({ id: req.params.id }));
