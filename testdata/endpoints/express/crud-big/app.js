const express = require('express');
const bodyParser = require('body-parser');

const app = express();
app.use(bodyParser.json());

const api = express.Router();

// Contacts
api.get('/contacts', (req, res) => res.json([]));
api.post('/contacts', (req, res) => res.status(201).json(req.body));
api.get('/contacts/:contactId', (req, res) => res.json({}));
api.put('/contacts/:contactId', (req, res) => res.json({}));
api.patch('/contacts/:contactId', (req, res) => res.json({}));
api.delete('/contacts/:contactId', (req, res) => res.sendStatus(204));
api.get('/contacts/:contactId/notes', (req, res) => res.json([]));
api.post('/contacts/:contactId/notes', (req, res) => res.json({}));

// Companies
api.get('/companies', (req, res) => res.json([]));
api.post('/companies', (req, res) => res.json({}));
api.get('/companies/:companyId', (req, res) => res.json({}));
api.put('/companies/:companyId', (req, res) => res.json({}));
api.delete('/companies/:companyId', (req, res) => res.sendStatus(204));
api.get('/companies/:companyId/contacts', (req, res) => res.json([]));

// Deals
api.get('/deals', (req, res) => res.json([]));
api.post('/deals', (req, res) => res.json({}));
api.get('/deals/:dealId', (req, res) => res.json({}));
api.patch('/deals/:dealId/stage', (req, res) => res.json({}));
api.delete('/deals/:dealId', (req, res) => res.sendStatus(204));

// Activities
api.get('/activities', (req, res) => res.json([]));
api.post('/activities', (req, res) => res.json({}));
api.options('/activities', (req, res) => res.set('Allow', 'GET, POST').end());
api.head('/activities', (req, res) => res.end());

app.use('/api', api);

app.get('/', (req, res) => res.send('CRM'));

app.listen(process.env.PORT || 8000, () => console.log('CRM up'));
