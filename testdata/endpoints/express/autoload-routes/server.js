const express = require('express');
const fs = require('fs');
const path = require('path');

const app = express();
app.use(express.json());

// Every file in routes/ is mounted under its own name: routes/books.js
// serves /books. Which files exist is only known at run time.
const routesDir = path.join(__dirname, 'routes');
fs.readdirSync(routesDir)
  .filter((file) => file.endsWith('.js'))
  .forEach((file) => {
    const name = path.basename(file, '.js');
    app.use(`/${name}`, require(path.join(routesDir, file)));
  });

app.get('/', (req, res) => res.json({ ok: true }));

app.listen(process.env.PORT || 8000);
