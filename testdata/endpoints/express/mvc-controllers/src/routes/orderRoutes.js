const express = require('express');
const { getOrders, createOrder, getOrderById, payOrder } = require('../controllers/orderController');
const { protect } = require('../middleware/auth');

const router = express.Router();

router.route('/').get(protect, getOrders).post(protect, createOrder);
router.route('/:id').get(protect, getOrderById);
router.route('/:id/pay').put(protect, payOrder);

module.exports = router;
