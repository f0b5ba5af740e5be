package endpoints

import (
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

func TestExpressRoutersAcrossFiles(t *testing.T) {
	eps := extract(t, framework.Express, map[string]string{
		"server.js": `
const express = require('express');
const api = require('./routes');
const { health } = require('./routes/health');

const app = express();
app.use(express.json());
app.use('/api/', api);
app.use(health);
app.listen(8000);
`,
		"routes/index.js": `
const router = require('express').Router();
router.use('/users', require('./users'));
router.get('/', (req, res) => res.json({}));
module.exports = router;
`,
		"routes/users.js": `
const { Router } = require('express');
const router = Router();

// List users.
//
// Paginated.
router.get('/', (req, res) => res.json([]));

/**
 * @route DELETE /api/users/:id
 * @desc Delete a user
 */
router.delete('/:id', (req, res) => res.end());

router.route('/:id/avatar/:size?')
  .get((req, res) => res.end())
  .put((req, res) => res.end());

module.exports = router;
`,
		"routes/health.js": `
const express = require('express');
exports.health = express.Router();
exports.health.all('/healthz', (req, res) => res.end());
`,
	})
	wantRows(t, eps,
		"GET /api routes/index.js:3",
		"GET /api/users routes/users.js:7",
		"DELETE /api/users/{id} routes/users.js:13",
		"GET /api/users/{id}/avatar/{size} routes/users.js:15",
		"PUT /api/users/{id}/avatar/{size} routes/users.js:15",
		"ALL /healthz routes/health.js:3",
	)
	e := endpoint(t, eps, "GET", "/api/users")
	if e.Summary != "List users." || e.Description != "Paginated." {
		t.Errorf("summary, description = %q, %q", e.Summary, e.Description)
	}
	if s := endpoint(t, eps, "DELETE", "/api/users/{id}").Summary; s != "Delete a user" {
		t.Errorf("@desc summary = %q", s)
	}
	wantParams(t, endpoint(t, eps, "GET", "/api/users/{id}/avatar/{size}"),
		Param{Name: "id", In: "path", Type: "string", Required: true},
		Param{Name: "size", In: "path", Type: "string"},
	)
}

func TestExpressESModulesAndFactories(t *testing.T) {
	eps := extract(t, framework.Express, map[string]string{
		"package.json": `{"type": "module"}`,
		"app.mjs": `
import express from 'express';
import items from './items.js';
import * as admin from './admin.js';
import register from './register.js';

const app = express();
app.use('/items', items(db));
app.use('/admin', admin.router);
register(app);
export default app;
`,
		"items.js": `
import { Router } from 'express';
export default function makeItems(db) {
  const r = Router();
  r.get('/:id(\\d+)', (req, res) => res.end());
  return r;
}
`,
		"admin.js": `
import express from 'express';
export const router = express.Router();
router.post(/^\/flush$/, (req, res) => res.end());
`,
		"register.js": `
export default (app) => {
  app.patch(['/a', '/b'], (req, res) => res.end());
};
`,
	})
	wantRows(t, eps,
		"PATCH /a register.js:2",
		"POST /admin/^\\/flush$/ admin.js:3",
		"PATCH /b register.js:2",
		"GET /items/{id} items.js:4",
	)
}

func TestExpressPath(t *testing.T) {
	cases := []struct{ in, out string }{
		{"/users/:id", "/users/{id}"},
		{"/users/:id?", "/users/{id}"},
		{"/files/:name(\\w+).:ext", "/files/{name}.{ext}"},
		{"/docs/:page*", "/docs/{page}"},
		{"/(.*)", "/(.*)"},
	}
	for _, c := range cases {
		if got, _ := expressPath(c.in); got != c.out {
			t.Errorf("expressPath(%q) = %q, want %q", c.in, got, c.out)
		}
	}
	for _, c := range []struct{ prefix, path, out string }{
		{"", "/", "/"}, {"/api", "/", "/api"}, {"/api/", "/x", "/api/x"}, {"/", "/x", "/x"},
	} {
		if got := expressJoin(c.prefix, c.path); got != c.out {
			t.Errorf("expressJoin(%q, %q) = %q, want %q", c.prefix, c.path, got, c.out)
		}
	}
}
