const { Router } = require('express');

module.exports = (db) => {
  const router = Router();
  router.get('/', (req, res) => res.json([]));
  router.patch('/:supplierId', (req, res) => res.json({}));
  return router;
};
