const express = require('express');

const usersRouter = express.Router();
usersRouter.get('/', (req, res) => res.json([]));
usersRouter.get('/:id', (req, res) => res.json({}));

const itemsRouter = express.Router();
itemsRouter.get('/', (req, res) => res.json([]));
itemsRouter.post('/', (req, res) => res.json({}));

module.exports = { usersRouter, itemsRouter };
