const express = require('express');
const router = express.Router();

const users = [];

// @route   GET api/users
// @desc    Get all users
// @access  Public
router.get('/', (req, res) => res.json(users));

// @route   POST api/users
// @desc    Register a user
// @access  Public
router.post('/', (req, res) => {
  users.push(req.body);
  res.status(201).json(req.body);
});

router.get('/:userId', (req, res) => res.json(users[req.params.userId]));

router.delete('/:userId', (req, res) => res.sendStatus(204));

module.exports = router;
