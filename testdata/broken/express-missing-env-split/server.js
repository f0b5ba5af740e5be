const express = require('express');

const app = express();
const origins = process.env.ALLOWED_ORIGINS.split(',');

app.get('/', (req, res) => res.json({ origins }));

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
