// Reports the running app's own route table to the shim.
//
// Every node process of the image loads this file first (NODE_OPTIONS
// --require); it does nothing unless the shim set PREVIEWD_ROUTES
// ("<socket path>:<child id>", see cmd/previewshim/routes.go).
//
// Express keeps no mount path on a router's layer, only a matcher (a regular
// expression in Express 4, a path-to-regexp 8 function in Express 5), so the
// Router's use() and the application's use() are wrapped as express loads,
// to note on each layer they add the path it was mounted at and, for a
// mounted sub-application, which one it is. http servers' listen() is
// wrapped to keep the request handler of every server the app opens; once
// a server listens (after the code that called listen() has run to its
// end), an Express handler's router stack is walked, mounted routers and
// sub-applications followed with their paths, and the table is written to
// the shim as one JSON object {"child", "framework", "routes": [{"method",
// "path"}]}. Parameters are written {name}; a regular expression route is
// kept as its source text; a route answering every method is one row, ALL.
// Nothing of the app is called. A failure costs the table only.
"use strict";

(function () {
  if (!/^\/.+:\d+$/.test(process.env.PREVIEWD_ROUTES || "")) return;
  const Module = require("module");
  const MARK = Symbol.for("previewd.routes");

  // target reads PREVIEWD_ROUTES when a table is sent: the preloader hides
  // it while it serves its own warm-up app.
  function target() {
    const m = /^(\/.+):(\d+)$/.exec(process.env.PREVIEWD_ROUTES || "");
    return m ? { path: m[1], child: Number(m[2]) } : null;
  }

  function mountOf(arg) {
    while (Array.isArray(arg) && arg.length) arg = arg[0];
    return arg instanceof RegExp ? String(arg) : typeof arg === "string" ? arg : "/";
  }

  function instrument(express) {
    if (!express || typeof express.Router !== "function" || !express.application || express[MARK]) return;
    express[MARK] = true;
    const Router = express.Router;
    // Express 4's Router is a function whose own properties are the
    // routers' prototype; Express 5's is a class.
    const proto = Router.prototype && typeof Router.prototype.use === "function" ? Router.prototype : Router;
    const routerUse = proto.use;
    proto.use = function (first) {
      const mount = typeof first === "function" ? "/" : mountOf(first);
      const before = this.stack.length;
      const result = routerUse.apply(this, arguments);
      for (const layer of this.stack.slice(before)) layer[MARK] = { mount };
      return result;
    };
    const app = express.application;
    const appUse = app.use;
    app.use = function () {
      const subApps = [...arguments].flat(Infinity).filter((fn) => typeof fn === "function" && fn.handle && fn.set);
      const router = routerOf(this, true);
      const before = router ? router.stack.length : 0;
      const result = appUse.apply(this, arguments);
      if (router && subApps.length) {
        const added = router.stack.slice(before).filter((l) => l.name === "mounted_app");
        added.forEach((layer, i) => {
          layer[MARK] = { ...(layer[MARK] || { mount: "/" }), app: subApps[i % subApps.length] };
        });
      }
      return result;
    };
  }

  // routerOf is an Express app's router: Express 4 makes it on demand
  // (lazyrouter) and throws on app.router; Express 5 makes it on first
  // read of app.router.
  function routerOf(app, make) {
    if (typeof app.lazyrouter === "function") {
      if (make) app.lazyrouter();
      return app._router;
    }
    try {
      return app.router;
    } catch {
      return undefined;
    }
  }

  const load = Module._load;
  Module._load = function (request) {
    const exports = load.apply(this, arguments);
    if (request === "express" || /[\\/]express(?:[\\/]index(?:\.js)?)?$/.test(request)) instrument(exports);
    return exports;
  };
  // An ES module app imports express through the CommonJS cache: loaded
  // here first, its instance is the one the app gets.
  try {
    require("express");
  } catch {
    // no express in this image: nothing to instrument
  }

  const net = require("net");
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function () {
    const handlers = this.listeners("request");
    const app = handlers.find((h) => typeof h === "function" && typeof h.handle === "function" && typeof h.set === "function");
    if (app) this.once("listening", () => setImmediate(() => report(app)));
    return listen.apply(this, arguments);
  };

  function report(app) {
    const to = target();
    if (!to) return;
    let routes;
    try {
      routes = [];
      const router = routerOf(app, false);
      walk(router ? router.stack : [], "", routes, new Set());
    } catch {
      return;
    }
    const body = JSON.stringify({ child: to.child, framework: "express", routes });
    const conn = net.createConnection(to.path);
    conn.on("error", () => {});
    conn.end(body);
    conn.unref();
  }

  function walk(stack, prefix, routes, seen) {
    for (const layer of stack) {
      const mark = layer[MARK] || {};
      if (layer.route) {
        for (const p of [].concat(layer.route.path)) {
          const routePath = p instanceof RegExp ? String(p) : normalise(String(p));
          for (const method of routeMethods(layer.route)) routes.push({ method, path: join(prefix, routePath) });
        }
      } else if (layer.handle && Array.isArray(layer.handle.stack) && !seen.has(layer.handle)) {
        seen.add(layer.handle);
        walk(layer.handle.stack, join(prefix, normalise(mark.mount || "/")), routes, seen);
        seen.delete(layer.handle);
      } else if (mark.app && !seen.has(mark.app)) {
        const router = routerOf(mark.app, false);
        if (!router) continue;
        seen.add(mark.app);
        walk(router.stack, join(prefix, normalise(mark.mount || "/")), routes, seen);
        seen.delete(mark.app);
      }
    }
  }

  // routeMethods: router.all() stores "_all"; app.all() adds every method
  // Node knows. Either answers every method: one row, ALL.
  function routeMethods(route) {
    const declared = Object.keys(route.methods).filter((m) => route.methods[m]);
    const every = require("http").METHODS.every((m) => route.methods[m.toLowerCase()]);
    if (declared.includes("_all") || every) return ["ALL"];
    return declared.map((m) => m.toUpperCase());
  }

  // normalise writes :id, :id?, :id*, :id(\d+) and Express 5's *name as {id}.
  function normalise(p) {
    return p.replace(/:([A-Za-z0-9_]+)(\((?:\\.|[^)])*\))?[?*+]?/g, "{$1}").replace(/\*([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
  }

  function join(prefix, p) {
    prefix = prefix.replace(/\/+$/, "");
    if (p === "/" && prefix !== "") return prefix;
    return prefix + p;
  }
})();
