'use strict';
// Keeps the order of what the app prints across stdout and stderr (loaded
// before the app with --require; see images/python/previewd_stdio.py for
// why). When the shim passes a third pipe (PREVIEWD_STDIO="<fd>:<inode>"),
// process.stdout and process.stderr (and so console.*) write there as frames
// of one byte for the stream, two for the length and the bytes, each at
// most PIPE_BUF so that processes sharing the pipe never split one. What
// bypasses them (Node's own fatal error report, programs the app runs) still
// goes to fd 1 and 2.
(() => {
  const spec = process.env.PREVIEWD_STDIO || '';
  const m = /^(\d+):(\d+)$/.exec(spec);
  if (!m) return;
  const fs = require('fs');
  const fd = Number(m[1]);
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFIFO() || st.ino !== BigInt(m[2])) return;
  } catch {
    return;
  }
  const { Writable } = require('stream');
  const frameData = 4096 - 3;

  function send(stream, buf) {
    for (let off = 0; off < buf.length; off += frameData) {
      const chunk = buf.subarray(off, off + frameData);
      const frame = Buffer.allocUnsafe(3 + chunk.length);
      frame[0] = stream;
      frame.writeUInt16BE(chunk.length, 1);
      chunk.copy(frame, 3);
      let done = 0;
      while (done < frame.length) {
        try {
          done += fs.writeSync(fd, frame, done);
        } catch (err) {
          if (err.code !== 'EAGAIN') throw err;
        }
      }
    }
  }

  function framed(stream) {
    const w = new Writable({
      decodeStrings: true,
      write(chunk, _encoding, cb) {
        try {
          send(stream, chunk);
        } catch (err) {
          cb(err);
          return;
        }
        cb();
      },
    });
    w.fd = stream;
    w._isStdio = true;
    w.isTTY = false;
    w.destroySoon = w.destroy;
    // Like Node's own stdio streams, never closed by the app.
    w._destroy = (err, cb) => cb(err);
    return w;
  }

  const out = framed(1);
  const err = framed(2);
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => out });
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => err });
})();
