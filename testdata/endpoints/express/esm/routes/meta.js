import express from 'express';

const router = express.Router();
router.get('/version', (req, res) => res.json({ version: 1 }));

export default router;
