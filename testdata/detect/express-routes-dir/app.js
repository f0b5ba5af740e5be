const express = require('express');
const cors = require('cors');
const todoRoutes = require('./routes/todos');
const userRoutes = require('./routes/users');

const app = express();
app.use(cors());
app.use('/api/todos', todoRoutes);
app.use('/api/users', userRoutes);

const port = process.env.PORT || 3000;
app.listen(port);
