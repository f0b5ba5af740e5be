// Prints the route table of each Express app in a corpus directory, as
// Express itself holds it: the ground truth for sandbox/endpoints' accuracy
// test.
//
//     node routes.js CORPUS_DIR
//
// prints one JSON object {app_name: {"routes": [{"method", "path"}], "error"}}.
// Each app is loaded in a child process of its own.
//
// Express keeps no mount path on a router's layer, only a regular
// expression, so before the app is loaded Router.prototype.use and
// application.use are wrapped to note, on each layer they add, the path it
// was mounted at. The route table is then app._router.stack, walked
// recursively through mounted routers and sub-apps. Paths are written with
// {name} for parameters, joined as sandbox/endpoints joins them (a
// router's "/" is its mount path); a regular expression is kept as its
// source text. A route that answers every method (app.all, router.all) is
// reported once, with the method ALL.
// http.Server.prototype.listen is stubbed so that loading an app does not
// start a server.
"use strict";

const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const { pathToFileURL } = require("url");

const ENTRIES = ["server.js", "app.js", "index.js", "main.js", "src/server.js", "src/app.js", "src/index.js"];

function main() {
  if (process.argv[2] === "--one") {
    one(process.argv[3]);
    return;
  }
  const corpus = process.argv[2];
  const out = {};
  for (const name of fs.readdirSync(corpus).sort()) {
    const dir = path.join(corpus, name);
    if (!fs.statSync(dir).isDirectory()) continue;
    const r = spawnSync(process.execPath, [__filename, "--one", dir], { encoding: "utf8", timeout: 60000 });
    try {
      out[name] = JSON.parse(r.stdout);
    } catch (e) {
      out[name] = { routes: [], error: "dumper failed: " + (r.stderr || "").slice(-2000) + String(r.error || "") };
    }
  }
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
}

function one(dir) {
  const write = process.stdout.write.bind(process.stdout);
  // Whatever the app logs goes to stderr; stdout carries only the result.
  console.log = console.info = (...a) => process.stderr.write(a.join(" ") + "\n");
  const apps = instrument();
  load(dir)
    .then(() => {
      const root = apps.find((a) => !a.__mounted);
      if (!root) throw new Error("no express app created");
      const routes = [];
      walk(root._router ? root._router.stack : [], "", routes);
      write(JSON.stringify({ routes, error: "" }));
      process.exit(0);
    })
    .catch((e) => {
      write(JSON.stringify({ routes: [], error: String((e && e.stack) || e) }));
      process.exit(0);
    });
}

function instrument() {
  const http = require("http");
  http.Server.prototype.listen = function () {
    return this;
  };
  const express = require("express");
  const apps = [];
  const init = express.application.init;
  express.application.init = function () {
    apps.push(this);
    return init.apply(this, arguments);
  };
  const routerUse = express.Router.use;
  express.Router.use = function (first) {
    const mount = typeof first === "function" ? "/" : mountOf(first);
    const before = this.stack.length;
    const result = routerUse.apply(this, arguments);
    for (const layer of this.stack.slice(before)) layer.__mount = mount;
    return result;
  };
  const appUse = express.application.use;
  express.application.use = function () {
    const subApps = [...arguments].flat(Infinity).filter((fn) => fn && fn.handle && fn.set);
    subApps.forEach((a) => (a.__mounted = true));
    this.lazyrouter();
    const before = this._router.stack.length;
    const result = appUse.apply(this, arguments);
    const added = this._router.stack.slice(before).filter((l) => l.name === "mounted_app");
    added.forEach((layer, i) => (layer.__subApp = subApps[i % subApps.length]));
    return result;
  };
  return apps;
}

function mountOf(arg) {
  while (Array.isArray(arg) && arg.length) arg = arg[0];
  return arg instanceof RegExp ? String(arg) : arg;
}

async function load(dir) {
  const pkgPath = path.join(dir, "package.json");
  const pkg = fs.existsSync(pkgPath) ? JSON.parse(fs.readFileSync(pkgPath, "utf8")) : {};
  const entries = pkg.main ? [pkg.main] : ENTRIES;
  const entry = entries.map((e) => path.join(dir, e)).find((p) => fs.existsSync(p));
  if (!entry) throw new Error("no entry file");
  process.chdir(dir);
  if (pkg.type === "module" || entry.endsWith(".mjs")) {
    await import(pathToFileURL(entry).href);
  } else {
    require(entry);
  }
}

function walk(stack, prefix, routes) {
  for (const layer of stack) {
    if (layer.route) {
      for (const p of [].concat(layer.route.path)) {
        const routePath = p instanceof RegExp ? String(p) : normalise(p);
        for (const method of routeMethods(layer.route)) {
          routes.push({ method, path: join(prefix, routePath) });
        }
      }
    } else if (layer.handle && Array.isArray(layer.handle.stack)) {
      walk(layer.handle.stack, join(prefix, normalise(layer.__mount || "/")), routes);
    } else if (layer.__subApp && layer.__subApp._router) {
      walk(layer.__subApp._router.stack, join(prefix, normalise(layer.__mount || "/")), routes);
    }
  }
}

// routeMethods lists a route's methods. router.all() stores the method
// "_all", but app.all() adds the route once per method Node knows; either
// way the route answers every method, and that is one row, ALL.
function routeMethods(route) {
  const declared = Object.keys(route.methods).filter((m) => route.methods[m]);
  const every = require("http").METHODS.every((m) => route.methods[m.toLowerCase()]);
  if (declared.includes("_all") || every) return ["ALL"];
  return declared.map((m) => m.toUpperCase());
}

// normalise writes :id, :id?, :id* and :id(\d+) as {id}.
function normalise(p) {
  return p.replace(/:([A-Za-z0-9_]+)(\((?:\\.|[^)])*\))?[?*+]?/g, "{$1}");
}

function join(prefix, p) {
  prefix = prefix.replace(/\/+$/, "");
  if (p === "/" && prefix !== "") return prefix;
  return prefix + p;
}

main();
