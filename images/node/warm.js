// Preloader of a warm preview container (see cmd/previewshim).
//
// Started before the app's files exist, it loads the modules previews use,
// reports ready on fd 3, then reads one JSON line on stdin:
// {"argv": [...], "env": ["K=V", ...], "dir": "sub/dir"}. It then becomes
// the app: `node FILE` and `node -e CODE FILE` run in this process, so only
// the app's own modules are left to load; any other command runs as a child
// whose exit code this process takes.
//
// Before it reports ready it serves a few requests with a throwaway Express
// app on a loopback port: what Express and Node's HTTP server load and
// compile on a first request (40 ms of a warm launch otherwise) is then done.
"use strict";
const fs = require("fs");
const path = require("path");

// The stdio hook and the route table reporter every node process of the
// image loads through NODE_OPTIONS; the preloader runs without them (see
// sandbox/warm.go) and loads them here, the stdio hook first, before
// anything prints, and the reporter before express.
require(path.join(__dirname, "stdio.js"));
const routesReporter = path.join(__dirname, "routes.js");
require(routesReporter);

for (const name of ["express", "body-parser", "cors", "cookie-parser", "morgan", "compression", "uuid", "ejs", "http", "https", "crypto", "zlib", "url", "querystring"]) {
  try {
    require(name);
  } catch {
    // a module this image lacks only costs its warmth
  }
}

// warmUp serves a few requests of the kinds apps answer with a throwaway
// Express app, then closes it; it gives up quietly after two seconds.
async function warmUp() {
  // The throwaway app is not the preview's: it reports no route table
  // (see routes.js). become() puts the variable back.
  delete process.env.PREVIEWD_ROUTES;
  const http = require("http");
  const express = require("express");
  const app = express();
  app.use(express.json());
  app.get("/", (req, res) => res.type("text/plain").send("warm\n"));
  app.post("/json", (req, res) => res.status(201).json({ got: req.body }));
  const server = app.listen(0, "127.0.0.1");
  try {
    await new Promise((resolve, reject) => server.once("listening", resolve).once("error", reject));
    const { port } = server.address();
    const ask = (method, path, body) => new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method, path, agent: false, headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end(body);
    });
    await ask("GET", "/");
    await ask("POST", "/json", '{"n":1}');
    await ask("GET", "/missing");
  } finally {
    server.close();
  }
}

function timeout(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function reportReady() {
  try {
    fs.writeSync(3, "r");
    fs.closeSync(3);
  } catch {
    // not started warm: nobody to tell
  }
}

function readLine() {
  const buf = Buffer.alloc(65536);
  let line = "";
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (e.code === "EAGAIN") continue;
      throw e;
    }
    if (n === 0) return line;
    line += buf.toString("utf8", 0, n);
    const nl = line.indexOf("\n");
    if (nl >= 0) return line.slice(0, nl);
  }
}

// drainOnTerm makes SIGTERM a graceful stop of the app (see drain.js,
// which the shim also has every Node process it starts load).
function drainOnTerm() {
  require("/opt/previewd/drain.js");
}

const routesTarget = process.env.PREVIEWD_ROUTES;

// become reads what to load and turns this process into the app.
function become() {
  if (routesTarget !== undefined) process.env.PREVIEWD_ROUTES = routesTarget;
  const line = readLine();
  if (line === "") process.exit(0); // the container is being removed unused
  const req = JSON.parse(line);
  for (const kv of req.env || []) {
    const i = kv.indexOf("=");
    process.env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  process.chdir(path.join("/app", req.dir || "."));
  drainOnTerm();
  const argv = req.argv;
  if (argv[0] === "node" && argv.length === 2) {
    process.argv = [process.execPath, path.resolve(argv[1])];
    require("module").runMain();
  } else if (argv[0] === "node" && argv[1] === "-e" && argv.length === 4) {
    // What `node -e CODE FILE` does: CODE runs with FILE as argv[1].
    process.argv = [process.execPath, argv[3]];
    new Function("require", argv[2])(require);
  } else {
    const { spawnSync } = require("child_process");
    process.env.NODE_OPTIONS = "--require " + routesReporter; // as a cold start has it
    const r = spawnSync(argv[0], argv.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
    process.exit(r.status === null ? 128 : r.status);
  }
}

// The app runs from a callback of its own, not a promise's: a throw at its
// top level is an uncaught exception, exactly as in a cold start.
Promise.race([warmUp(), timeout(2000)])
  .catch(() => {}) // a failed warm-up only costs its warmth
  .then(() => setImmediate(() => {
    reportReady();
    become();
  }));
