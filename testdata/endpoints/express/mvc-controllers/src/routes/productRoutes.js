const express = require('express');
const productController = require('../controllers/productController');
const { protect } = require('../middleware/auth');

const router = express.Router();

/**
 * @route GET /api/v1/products
 * @desc List products
 */
router.get('/', productController.getProducts);

/**
 * @route POST /api/v1/products
 * @desc Create a product
 * @access Private
 */
router.post('/', protect, productController.createProduct);

router
  .route('/:id')
  .get(productController.getProduct)
  .put(protect, productController.updateProduct)
  .delete(protect, productController.deleteProduct);

module.exports = router;
