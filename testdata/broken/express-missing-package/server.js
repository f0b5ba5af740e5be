const express = require('express');
const cors = require('cors');
const Stripe = require('stripe');

const app = express();
app.use(cors());
const stripe = Stripe(process.env.STRIPE_KEY || 'sk_test');

app.get('/', (req, res) => res.send(typeof stripe));

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
