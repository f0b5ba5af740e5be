const express = require('express');
const users = require('./routes/user');

const app = express();
app.use('/users', users);

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
