// Loaded into every Node process of a preview (cmd/previewshim puts
// `--require /opt/previewd/drain.js` in NODE_OPTIONS): SIGTERM becomes a
// graceful stop for a process that serves. Its servers stop accepting,
// finish the requests they are answering, and answer every request from
// then on with `Connection: close`, so that a client sends its next
// request on a new connection (which the shim relays to the new version);
// the process exits once no connection is left. A reload retires the old
// version this way once the new one serves: node's default would drop
// what it was answering. Closing idle keep-alive connections instead
// would race with a client that is sending on one at that moment, and a
// POST so lost is not sent again. Whatever is still open after 2 s is
// dropped. A process that never listens (npm, a build tool) keeps node's
// default.
"use strict";
const installed = Symbol.for("previewd.drain");
if (!process[installed]) {
  process[installed] = true;
  const net = require("net");
  const servers = new Set();
  let draining = false;
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    if (servers.size === 0) process.on("SIGTERM", drain);
    if (!servers.has(this)) {
      servers.add(this);
      this.prependListener("request", closeWhenDraining);
    }
    return listen.apply(this, args);
  };
  function closeWhenDraining(req, res) {
    const writeHead = res.writeHead;
    res.writeHead = function (...args) {
      if (draining && !this.headersSent) this.setHeader("Connection", "close");
      return writeHead.apply(this, args);
    };
  }
  function drain() {
    if (draining) return; // a second SIGTERM changes nothing
    draining = true;
    let open = 0;
    for (const server of servers) {
      if (!server.listening) continue;
      open++;
      // net's close: stop accepting and wait for the connections, without
      // the idle-connection closing of http's in newer versions of node.
      net.Server.prototype.close.call(server, () => {
        if (--open === 0) process.exit(0);
      });
    }
    if (open === 0) process.exit(0);
    // A stop must not wait on a client that never hangs up (a WebSocket).
    setTimeout(() => process.exit(0), 2000).unref();
  }
}
