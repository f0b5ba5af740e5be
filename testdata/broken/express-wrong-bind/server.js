const express = require('express');

const app = express();
app.get('/', (req, res) => res.send('hello'));

const HOST = process.env.BIND_HOST || '192.168.1.50';
const PORT = process.env.PORT || 3000;
app.listen(PORT, HOST, () => {
  console.log(`Server running at http://${HOST}:${PORT}/`);
});
