const express = require('express');

function createItemsRouter(db) {
  const router = express.Router();

  router.get('/', (req, res) => res.json(db.all()));
  router.get('/:id', (req, res) => res.json(db.get(req.params.id)));
  router.post('/', (req, res) => {
    db.put(req.body.id, req.body);
    res.status(201).json(req.body);
  });

  return router;
}

module.exports = createItemsRouter;
