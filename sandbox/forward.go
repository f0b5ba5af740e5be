package sandbox

import (
	"errors"
	"io"
	"net"
	"sync"
)

// forwarder relays connections from a preview's host port to the shim's unix
// socket inside the container. Previews run with no network at all, so this is
// the only way in: nothing published by the engine, nothing the app can dial out.
type forwarder struct {
	listener *net.TCPListener
	socket   string

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newForwarder(l *net.TCPListener, socket string) *forwarder {
	return &forwarder{listener: l, socket: socket, conns: map[net.Conn]struct{}{}}
}

// serve accepts until the listener is closed by close.
func (f *forwarder) serve() {
	for {
		c, err := f.listener.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.SetNoDelay(true)
		f.track(c, true)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.track(c, false)
			f.relay(c)
		}()
	}
}

func (f *forwarder) track(c net.Conn, add bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if add {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *forwarder) relay(c *net.TCPConn) {
	defer c.Close()
	up, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: f.socket, Net: "unix"})
	if err != nil {
		return
	}
	defer up.Close()
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

// close stops accepting, ends open connections and waits for their goroutines.
// The port itself is released by the caller.
func (f *forwarder) close() {
	f.listener.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
