package endpoints

import (
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// Assignment chains and aliases of the app and its routers, as Express's own
// examples and many CRUD services write them.
func TestExpressAssignmentChains(t *testing.T) {
	eps := extract(t, framework.Express, map[string]string{
		"index.js": `
var express = require('express');
var app = module.exports = express();
var api;
api = express.Router();
app.use('/api/v1', api);
api.get('/users', function (req, res) { res.send([]); });
app.get('/', function (req, res) { res.send('hi'); });
app.use('/admin', require('./admin'));
app.use('/blog', require('./blog').router);
`,
		"admin.js": `
var express = require('express');
var admin = exports = module.exports = express();
admin.get('/stats', function (req, res) { res.send({}); });
`,
		"blog.js": `
const express = require('express');
const router = express.Router();
module.exports.router = router;
router.get('/posts/:id', (req, res) => res.send({}));
`,
	})
	wantRows(t, eps,
		"GET / index.js:7",
		"GET /admin/stats admin.js:3",
		"GET /api/v1/users index.js:6",
		"GET /blog/posts/{id} blog.js:4",
	)
	for _, e := range eps {
		if e.Mounted != nil {
			t.Errorf("%s %s: mounted = %v, want it left out", e.Method, e.Path, *e.Mounted)
		}
	}
}

// A router whose mount is not found is listed as unmounted, never as a
// route at the root, whether or not an app was found.
func TestExpressUnmountedRouter(t *testing.T) {
	for _, withApp := range []bool{false, true} {
		files := map[string]string{
			"routes/users.js": `
import { Router } from 'express';
const router = Router();
router.get('/users', (req, res) => res.json([]));
export default router;
`,
		}
		if withApp {
			files["app.js"] = `
import express from 'express';
const app = express();
app.get('/health', (req, res) => res.send('ok'));
export default app;
`
		}
		eps := extract(t, framework.Express, files)
		users := endpoint(t, eps, "GET", "/users")
		if users.Mounted == nil || *users.Mounted {
			t.Errorf("with app %v: GET /users mounted = %v, want false", withApp, users.Mounted)
		}
		if withApp {
			if h := endpoint(t, eps, "GET", "/health"); h.Mounted != nil {
				t.Errorf("GET /health mounted = %v, want it left out", *h.Mounted)
			}
		}
	}
}
