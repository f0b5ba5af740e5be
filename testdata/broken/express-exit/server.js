const express = require('express');

const app = express();
app.get('/', (req, res) => res.send('hello'));

if (!require('fs').existsSync('/data/db.sqlite')) {
  console.error('database file not found');
  process.exit(2);
}

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
