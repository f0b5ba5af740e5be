const express = require('express');

const app = express();
const settings = {};

app.set('title', settings.site.title);
app.get('/', (req, res) => res.send('hello'));

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
