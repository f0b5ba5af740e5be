const tasks = [];

export const listTasks = (req, res) => res.json(tasks);
export const createTask = (req, res) => res.status(201).json(req.body);
export const getTask = (req, res) => res.json({ id: req.params.id });
export const updateTask = (req, res) => res.json(req.body);
export const deleteTask = (req, res) => res.sendStatus(204);
