const express = require('express');

const app = express();
app.get('/', (req, res) => res.send('hello'));

function connect() {
  console.log('connecting to the queue...');
  setTimeout(connect, 5000);
}
connect();

module.exports = app;
