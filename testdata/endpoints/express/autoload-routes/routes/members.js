const router = require('express').Router();

router.post('/', (req, res) => res.status(201).json(req.body));

module.exports = router;
