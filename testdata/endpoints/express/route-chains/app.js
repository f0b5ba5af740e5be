const express = require('express');
const app = express();

app.use(express.json());

// Books collection
app.route('/book')
  .get((req, res) => res.send('Get a random book'))
  .post((req, res) => res.send('Add a book'))
  .put((req, res) => res.send('Update the book'));

const router = express.Router();

router
  .route('/:id')
  .get((req, res) => res.json({}))
  .patch((req, res) => res.json({}))
  .delete((req, res) => res.sendStatus(204));

router.route('/').get((req, res) => res.json([])).post((req, res) => res.status(201).json({}));

app.use('/authors', router);

module.exports = app;

if (require.main === module) {
  app.listen(8000);
}
