const router = require('express').Router();

router.get('/', (req, res) => res.json([]));
router.get('/:isbn', (req, res) => res.json({ isbn: req.params.isbn }));

module.exports = router;
