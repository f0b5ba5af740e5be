import express from 'express';
import cors from 'cors';

import taskRoutes from './routes/tasks.js';
import { authRouter } from './routes/auth.js';
import * as meta from './routes/meta.js';

const app = express();

app.use(cors());
app.use(express.json());

app.use('/api/tasks', taskRoutes);
app.use('/api/auth', authRouter);
app.use(meta.default);

const PORT = process.env.PORT || 8000;
app.listen(PORT, () => console.log(`Server running on port ${PORT}`));

export default app;
