const express = require('express');

const app = express();
const PORT = process.env.PORT || 8000;

app.use(express.json());

let todos = [];
let nextId = 1;

// Health check
app.get('/', (req, res) => {
  res.send('Todo API is running');
});

/**
 * List todos.
 *
 * Optional ?done=true|false filter.
 */
app.get('/api/todos', (req, res) => {
  res.json(todos);
});

// Create a todo
app.post('/api/todos', (req, res) => {
  const todo = { id: nextId++, title: req.body.title, done: false };
  todos.push(todo);
  res.status(201).json(todo);
});

app.get('/api/todos/:id', (req, res) => {
  const todo = todos.find((t) => t.id === Number(req.params.id));
  if (!todo) return res.status(404).json({ error: 'Not found' });
  res.json(todo);
});

app.put('/api/todos/:id', (req, res) => {
  res.json({ id: req.params.id, ...req.body });
});

app.patch('/api/todos/:id/toggle', (req, res) => {
  res.json({});
});

app.delete('/api/todos/:id', (req, res) => {
  todos = todos.filter((t) => t.id !== Number(req.params.id));
  res.status(204).end();
});

app.listen(PORT, '0.0.0.0', () => {
  console.log(`Server listening on port ${PORT}`);
});
