package docker

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/previewd/previewd/sandbox/backend"
)

// forwarder relays connections from a preview's host port to the shim's unix
// socket inside the container. Previews run with no network at all, so this is
// the only way in: nothing published by the engine, nothing the app can dial out.
type forwarder struct {
	listener *net.TCPListener
	socket   atomic.Pointer[string] // the app socket new connections go to
	socketOf func(backend.Handle) string

	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{} // both ends of every relayed connection
}

func newForwarder(l *net.TCPListener, socket string) *forwarder {
	f := &forwarder{listener: l, conns: map[net.Conn]struct{}{}}
	f.socket.Store(&socket)
	return f
}

// Switch sends the connections from now on to the app socket of h, another
// sandbox of the preview; open ones stay with theirs.
func (f *forwarder) Switch(h backend.Handle) {
	socket := f.socketOf(h)
	f.socket.Store(&socket)
}

// Serve accepts until the listener is closed by Close.
func (f *forwarder) Serve() {
	for {
		c, err := f.listener.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.SetNoDelay(true)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.relay(c)
		}()
	}
}

// track registers both ends of a relayed connection so that Close can end it;
// it reports false when the forwarder is already closed.
func (f *forwarder) track(c, up net.Conn, add bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !add {
		delete(f.conns, c)
		delete(f.conns, up)
		return true
	}
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	f.conns[up] = struct{}{}
	return true
}

func (f *forwarder) relay(c *net.TCPConn) {
	defer c.Close()
	up, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: *f.socket.Load(), Net: "unix"})
	if err != nil {
		return
	}
	defer up.Close()
	if !f.track(c, up, true) {
		return
	}
	defer f.track(c, up, false)
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.CloseWrite()
	<-done
}

// Dial connects to the shim's socket for previewd's own proxy, which so skips
// the relay through the host port. The connection is tracked like a relayed
// one: Close ends it.
func (f *forwarder) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", *f.socket.Load())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	f.conns[c] = struct{}{}
	return &trackedConn{Conn: c, f: f}, nil
}

// trackedConn is a connection from dial; closing it stops its tracking.
type trackedConn struct {
	net.Conn
	f *forwarder
}

func (c *trackedConn) Close() error {
	c.f.mu.Lock()
	delete(c.f.conns, c.Conn)
	c.f.mu.Unlock()
	return c.Conn.Close()
}

// Close stops accepting, ends open connections (both ends, so that no copy
// stays blocked on a keep-alive connection) and waits for their goroutines.
// The port itself is released by the caller.
func (f *forwarder) Close() {
	f.listener.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
