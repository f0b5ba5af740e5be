'use strict';
// Keeps the order of what the app prints across stdout and stderr. Loaded
// before the app (NODE_OPTIONS=--require) in every node process of the
// image; images/python/previewd_stdio.py is its Python twin.
//
// The shim reads the app's stdout and stderr from two pipes; when both fill
// between two of its reads, it cannot know how the lines of one interleave
// with the other's. When it passes a third pipe (PREVIEWD_STDIO="<fd>:<inode>"),
// process.stdout and process.stderr (and so console.*) write there instead,
// as frames of one byte for the stream (1 or 2), two for the length and the
// bytes. What bypasses them (fs.writeSync(1, ...), Node's own report of an
// uncaught exception, programs the app runs) still goes to fd 1 and 2.
//
// Writes must not block the event loop: the shim paces the app's output,
// so the pipe is often full, and a synchronous write would stall the app's
// requests meanwhile. Node's own stdout on a pipe is a non-blocking
// net.Socket whose writes queue while the pipe is full; here one such
// socket carries both streams, so its queue keeps their order. The socket
// is on a description of the pipe of its own (opened through /proc), so
// that making it non-blocking does not change the inherited fd that other
// processes write to. It writes each frame with one write(2) of at most
// PIPE_BUF bytes, which a pipe takes whole or not at all: frames of
// processes sharing the pipe (cluster workers, child node processes) never
// split each other.
//
// Worker threads keep Node's own process.stdout and process.stderr: Node
// passes what they print to the main thread's, which land here; Node's
// worker code also calls into those streams, and a replacement lacking its
// internal methods made a worker's exit crash the process.
//
// The inode check keeps a process that did not inherit the pipe (a cluster
// worker's fd 3 is its IPC channel) from writing frames into whatever file
// took that fd number.
(() => {
  const m = /^(\d+):(\d+)$/.exec(process.env.PREVIEWD_STDIO || '');
  if (!m || !require('worker_threads').isMainThread) return;
  const fs = require('fs');
  const net = require('net');
  const { Writable } = require('stream');

  let sock;
  try {
    const st = fs.fstatSync(Number(m[1]), { bigint: true });
    if (!st.isFIFO() || st.ino !== BigInt(m[2])) return;
    const fd = fs.openSync(`/proc/self/fd/${m[1]}`, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    sock = new net.Socket({ fd, readable: false, writable: true });
  } catch {
    return;
  }
  // One frame per write(2): a vectored write of several frames may be cut
  // anywhere when the pipe is nearly full.
  sock._writev = null;

  const frameData = 4096 - 3; // PIPE_BUF, less the header
  const empty = Buffer.alloc(0);
  // Node's own streams, created only if the pipe breaks (the shim is gone):
  // then output goes to fd 1 and 2 as without this hook.
  const nodeStdio = {
    1: Object.getOwnPropertyDescriptor(process, 'stdout').get,
    2: Object.getOwnPropertyDescriptor(process, 'stderr').get,
  };
  let broken = false;
  const waiting = new Set(); // streams that told a writer to wait for 'drain'
  sock.on('error', () => {
    broken = true;
    sock.destroy();
  });
  sock.on('drain', () => {
    for (const s of waiting) s.emit('drain');
    waiting.clear();
  });

  // FramedStdio hands each write to the socket at once, as frames, and
  // returns: it never holds a write back, since a stdout write held while
  // a stderr write goes ahead would swap them. The socket's queue stands in
  // for its own: write() returns false while the socket is backed up, and
  // 'drain' follows; a write's callback runs once it has reached the pipe.
  class FramedStdio extends Writable {
    constructor(stream) {
      super({ decodeStrings: false });
      this.fd = stream;
      this._type = 'pipe';
      this._isStdio = true;
      this.destroySoon = this.destroy;
    }

    write(chunk, encoding, cb) {
      if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      // console.* passes a callback with every write: only while the
      // socket has a backlog does one cost an empty write, called back once
      // what is queued before it is written.
      const after = typeof cb !== 'function' ? undefined : (err) => {
        if (err || broken || sock.writableLength === 0) cb(err);
        else sock.write(empty, cb);
      };
      const ok = super.write(chunk, encoding, after);
      if (!ok || broken || !sock.writableNeedDrain) return ok;
      waiting.add(this);
      return false;
    }

    _write(chunk, encoding, cb) {
      if (broken) {
        nodeStdio[this.fd].call(process).write(chunk, encoding, cb);
        return;
      }
      if (typeof chunk === 'string') {
        const size = Buffer.byteLength(chunk, encoding);
        if (size <= frameData) { // most writes: a line, encoded straight into its frame
          const frame = Buffer.allocUnsafe(3 + size);
          frame[0] = this.fd;
          frame.writeUInt16BE(size, 1);
          frame.write(chunk, 3, encoding);
          sock.write(frame);
          cb();
          return;
        }
        chunk = Buffer.from(chunk, encoding);
      }
      for (let off = 0; off < chunk.length; off += frameData) {
        const data = chunk.subarray(off, off + frameData);
        const frame = Buffer.allocUnsafe(3 + data.length);
        frame[0] = this.fd;
        frame.writeUInt16BE(data.length, 1);
        data.copy(frame, 3);
        sock.write(frame);
      }
      cb();
    }

    // Like Node's own stdio streams, never closed by the app.
    _destroy(err, cb) {
      cb(err);
    }
  }

  const out = new FramedStdio(1);
  const err = new FramedStdio(2);
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => out });
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => err });
})();
