const { Router } = require('express');

const router = Router();

router.get('/', (req, res) => res.json([]));
router.get('/:postId/comments', (req, res) => res.json([]));
router.post('/:postId/comments', (req, res) => res.status(201).json(req.body));
router.put('/:postId', (req, res) => res.json(req.body));

module.exports = router;
