const getOrders = (req, res) => res.json([]);
const createOrder = (req, res) => res.status(201).json(req.body);
const getOrderById = (req, res) => res.json({ id: req.params.id });
const payOrder = (req, res) => res.json({ paid: true });

module.exports = { getOrders, createOrder, getOrderById, payOrder };
