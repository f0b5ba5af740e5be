const express = require('express');
const { loadMenu } = require('./lib/menu');

const app = express();
const menu = loadMenu();

app.get('/', (req, res) => res.json(menu));

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
