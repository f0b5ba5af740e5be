exports.getProducts = (req, res) => res.json([]);
exports.createProduct = (req, res) => res.status(201).json(req.body);
exports.getProduct = (req, res) => res.json({ id: req.params.id });
exports.updateProduct = (req, res) => res.json(req.body);
exports.deleteProduct = (req, res) => res.sendStatus(204);
