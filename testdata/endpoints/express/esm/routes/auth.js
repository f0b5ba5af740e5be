import express from 'express';

export const authRouter = express.Router();

/** Log in with e-mail and password. */
authRouter.post('/login', (req, res) => res.json({ token: 't' }));
authRouter.post('/register', (req, res) => res.status(201).json({}));
authRouter.get('/me', (req, res) => res.json({}));
