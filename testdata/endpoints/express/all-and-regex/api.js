const router = require('express').Router();

router.all('/proxy/(.*)', (req, res) => res.send('proxied'));
router.get('/search/:term?', (req, res) => res.json([]));

module.exports = router;
