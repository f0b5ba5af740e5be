const express = require('express');

const router = express.Router({ mergeParams: true });

router.get('/', (req, res) => res.json({ items: [] }));
router.post('/items', (req, res) => res.status(201).json(req.body));
router.delete('/items/:itemId', (req, res) => res.sendStatus(204));

module.exports = router;
