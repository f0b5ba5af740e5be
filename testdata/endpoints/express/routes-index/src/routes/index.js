const express = require('express');

const products = require('./products');
const cart = require('./cart');
const admin = require('./admin');

const router = express.Router();

router.use('/products', products);
router.use('/cart', cart);
router.use('/admin', admin);

router.get('/', (req, res) => res.json({ name: 'shop api' }));

module.exports = router;
