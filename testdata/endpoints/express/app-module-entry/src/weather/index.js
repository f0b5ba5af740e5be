const express = require('express');
const router = express.Router();

const CITIES = ['paris', 'tokyo'];

router.get('/', (req, res) => res.json(CITIES));
router.get('/:city', (req, res) => res.json({ city: req.params.city, temp: 20 }));
router.get('/:city/forecast/:days', (req, res) => res.json([]));

module.exports = router;
