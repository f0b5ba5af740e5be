const express = require('express');
const registerRoutes = require('./routes');
const { attachAdmin } = require('./admin');

const app = express();
app.use(express.json());

registerRoutes(app);
attachAdmin(app);

app.listen(8000);
