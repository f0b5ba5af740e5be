const express = require('express');
const db = require('./db');
const createItemsRouter = require('./routes/items');

const app = express();
app.use(express.json());

app.use('/items', createItemsRouter(db));
app.use('/suppliers', require('./routes/suppliers')(db));

app.listen(process.env.PORT || 8000);
