package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// rejectWriteTimeout bounds how long a refused connection is written to.
const rejectWriteTimeout = time.Second

// ConnLimiter is a net.Listener that keeps at most a fixed number of
// connections from one remote address open at a time. A connection over the
// cap is answered 429 with the API's error body and closed before any of its
// request is read, so a client holding many idle or slow connections cannot
// starve the others.
type ConnLimiter struct {
	net.Listener
	max      int
	rejected prometheus.Counter

	mu   sync.Mutex
	open map[string]int
}

// LimitConnsPerIP wraps ln so that each remote IP address holds at most max
// connections; max 0 returns ln unchanged. The count of refused connections
// is registered with reg as preview_connections_rejected_total.
func LimitConnsPerIP(ln net.Listener, max int, reg prometheus.Registerer) net.Listener {
	if max <= 0 {
		return ln
	}
	rejected := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "preview_connections_rejected_total",
		Help: "Connections closed at once because their address held PREVIEW_MAX_CONNS_PER_IP already.",
	})
	reg.MustRegister(rejected)
	return &ConnLimiter{Listener: ln, max: max, rejected: rejected, open: map[string]int{}}
}

// Accept returns the next connection within its address's cap; the ones
// over it are refused on their own goroutine.
func (l *ConnLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := remoteIP(c.RemoteAddr())
		l.mu.Lock()
		over := l.open[key] >= l.max
		if !over {
			l.open[key]++
		}
		l.mu.Unlock()
		if over {
			l.rejected.Inc()
			go refuseConn(c)
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

func (l *ConnLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// remoteIP is the address a connection is counted under: its IP, or the
// whole address for one without (a unix socket).
func remoteIP(a net.Addr) string {
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// refuseConn answers 429 and closes c. The client may not have sent its
// request yet; the answer is written anyway, with Connection: close.
func refuseConn(c net.Conn) {
	defer c.Close()
	b := make([]byte, 12)
	rand.Read(b)
	id := hex.EncodeToString(b)
	body := fmt.Sprintf(`{"error":{"code":"too_many_requests","message":"too many open connections from your address; close some and retry","request_id":%q}}`, id)
	c.SetWriteDeadline(time.Now().Add(rejectWriteTimeout))
	fmt.Fprintf(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\n"+
		"X-Request-ID: %s\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", id, len(body), body)
	// Close with the client's request unread would reset the connection,
	// and a reset can discard the answer before the client reads it: half
	// close, then give the client a moment to read.
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
		c.SetReadDeadline(time.Now().Add(rejectWriteTimeout))
		buf := make([]byte, 1024)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}
}

// limitedConn gives its slot back when it is closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
