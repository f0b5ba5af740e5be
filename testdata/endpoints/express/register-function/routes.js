module.exports = function (app) {
  app.get('/', (req, res) => res.send('home'));
  app.get('/api/messages', (req, res) => res.json([]));
  app.post('/api/messages', (req, res) => res.status(201).json(req.body));
  app.delete('/api/messages/:id', (req, res) => res.sendStatus(204));
};
