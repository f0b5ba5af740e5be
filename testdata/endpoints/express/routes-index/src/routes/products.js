const router = require('express').Router();

router.get('/', (req, res) => res.json([]));
router.get('/:id', (req, res) => res.json({ id: req.params.id }));
router.get('/:id/reviews', (req, res) => res.json([]));

module.exports = router;
