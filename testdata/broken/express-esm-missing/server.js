import express from 'express';
import helmet from 'helmet';

const app = express();
app.use(helmet());
app.get('/', (req, res) => res.send('hello'));

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
