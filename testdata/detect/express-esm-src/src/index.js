import express from 'express';
import items from './routes/items.js';

const app = express();
app.use('/items', items);
app.listen(process.env.PORT ?? 3000);
