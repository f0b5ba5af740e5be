package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Moving the app to a new version's port (see reload.go) leaves the
// connections open to the old one: a client keeps a keep-alive connection,
// and some servers (gunicorn's threaded worker) answer on it even while
// they shut down. The relay therefore notes when each connection last
// carried bytes either way, and after a move closes those to the old port
// once they are idle, so the client's next request opens a connection to
// the new version.

const (
	// drainQuiet is how long a connection must carry nothing, after an
	// answer, to count as idle.
	drainQuiet = 20 * time.Millisecond
	// drainPoll is how often the open connections are looked at.
	drainPoll = 5 * time.Millisecond
)

// relayedConn is one client connection relayed to the app's port.
type relayedConn struct {
	port   int
	client *net.UnixConn
	app    *net.TCPConn
	// toApp and toClient are the unix nanoseconds of the last bytes each
	// way, 0 before any.
	toApp, toClient atomic.Int64
}

// idle reports whether c has been quiet for drainQuiet since the app last
// answered (or since it opened, when nothing was sent).
func (c *relayedConn) idle(now time.Time) bool {
	in, out := c.toApp.Load(), c.toClient.Load()
	return out >= in && now.UnixNano()-max(in, out) >= int64(drainQuiet)
}

// conns tracks the relayed connections.
type conns struct {
	mu  sync.Mutex
	set map[*relayedConn]struct{}
}

func (cs *conns) add(c *relayedConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.set == nil {
		cs.set = map[*relayedConn]struct{}{}
	}
	cs.set[c] = struct{}{}
}

func (cs *conns) remove(c *relayedConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.set, c)
}

// drain closes the connections to port as each goes idle, until none is
// left or max has passed. It reports whether all were closed.
func (r *relayer) drain(port int, max time.Duration) bool {
	deadline := time.Now().Add(max)
	for {
		now := time.Now()
		left := 0
		r.open.mu.Lock()
		for c := range r.open.set {
			if c.port != port {
				continue
			}
			if c.idle(now) {
				delete(r.open.set, c)
				c.client.Close()
				c.app.Close()
				continue
			}
			left++
		}
		r.open.mu.Unlock()
		if left == 0 {
			return true
		}
		if now.After(deadline) {
			return false
		}
		time.Sleep(drainPoll)
	}
}

// relayTracked is relay for a tracked connection: the same copies, through
// readers that note when bytes pass.
func (r *relayer) relayTracked(c *relayedConn) {
	r.open.add(c)
	defer r.open.remove(c)
	done := make(chan struct{})
	go func() {
		pipe(c.app, &notingConn{duplexConn: c.client, at: &c.toApp})
		close(done)
	}()
	pipe(c.client, &notingConn{duplexConn: c.app, at: &c.toClient})
	<-done
	c.client.Close()
	c.app.Close()
}

// notingConn records the time of every read that returned bytes.
type notingConn struct {
	duplexConn
	at *atomic.Int64
}

func (n *notingConn) Read(p []byte) (int, error) {
	k, err := n.duplexConn.Read(p)
	if k > 0 {
		n.at.Store(time.Now().UnixNano())
	}
	return k, err
}

var _ io.Reader = (*notingConn)(nil)
