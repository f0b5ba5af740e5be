const express = require('express');
const cors = require('cors');

const usersRouter = require('./routes/users');
const postsRouter = require('./routes/posts');

const app = express();

app.use(cors());
app.use(express.json());
app.use(express.urlencoded({ extended: false }));

app.use('/api/users', usersRouter);
app.use('/api/posts', postsRouter);

app.use((req, res) => res.status(404).json({ error: 'Not found' }));

const port = process.env.PORT || 8000;
app.listen(port, () => console.log(`Listening on ${port}`));

module.exports = app;
