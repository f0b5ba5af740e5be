package main

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// dialTimeout bounds a connect to the app; on loopback only a full listen
// backlog makes a connect wait at all.
const dialTimeout = 10 * time.Second

// tcpListen is the st column of /proc/net/tcp for a listening socket.
const tcpListen = "0A"

// relayer connects clients on app.sock to the app's TCP port.
type relayer struct {
	// preferred is the port the app listens on; a reload moves it.
	preferred atomic.Int64
	// listening lists the ports to fall back on; listeningPorts outside tests.
	listening func() ([]int, error)
	// open are the connections being relayed (see drain.go).
	open conns
}

// serve relays every connection accepted on ln to the app. It returns only
// once ln is closed.
func (r *relayer) serve(ln *net.UnixListener) error {
	var backoff time.Duration
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of fds or similar: wait for connections to drain rather
			// than spin, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go r.handle(c)
	}
}

func (r *relayer) handle(client *net.UnixConn) {
	app, port, err := r.dialApp()
	if err != nil {
		// Nothing listens yet: closing at once is how the host's health
		// probe learns the app is not ready.
		client.Close()
		return
	}
	r.relayTracked(&relayedConn{port: port, client: client, app: app})
}

// dialApp connects to the app's port. A successful connect to the preferred
// port proves something listens there, so /proc is read only when the app
// ignored $PORT, keeping the common case to a single connect.
func (r *relayer) dialApp() (*net.TCPConn, int, error) {
	preferred := r.port()
	c, err := dialPort(preferred)
	if err == nil {
		return c, preferred, nil
	}
	ports, perr := r.listening()
	if perr != nil {
		return nil, 0, errors.Join(err, perr)
	}
	for _, p := range ports {
		if p == preferred {
			continue
		}
		// The lowest port may be bound to an address other than 127.0.0.1;
		// try the next then.
		if c, err = dialPort(p); err == nil {
			return c, p, nil
		}
	}
	return nil, 0, err
}

// newRelayer returns a relayer to port.
func newRelayer(port int, listening func() ([]int, error)) *relayer {
	r := &relayer{listening: listening}
	r.preferred.Store(int64(port))
	return r
}

// port is the port new connections go to first.
func (r *relayer) port() int { return int(r.preferred.Load()) }

// moveTo sends new connections to port; those open stay where they are
// until drain closes them.
func (r *relayer) moveTo(port int) { r.preferred.Store(int64(port)) }

func dialPort(port int) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// duplexConn is a connection whose write side can be shut down alone.
type duplexConn interface {
	net.Conn
	CloseWrite() error
}

// relay copies both ways until both sides are done, then closes both.
// io.Copy between these concrete types splices in the kernel.
func relay(client *net.UnixConn, app *net.TCPConn) {
	done := make(chan struct{})
	go func() {
		pipe(app, client)
		close(done)
	}()
	pipe(client, app)
	<-done
	client.Close()
	app.Close()
}

// pipe copies src to dst. At EOF it passes the half-close on, so a client
// that shuts down its write side still gets the response. On an error it
// closes both connections, which ends the copy in the other direction too.
func pipe(dst, src duplexConn) {
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		src.Close()
		return
	}
	_ = dst.CloseWrite()
}

// listeningPorts returns the TCP ports in LISTEN state, IPv4 and IPv6,
// sorted and without duplicates.
func listeningPorts() ([]int, error) {
	var ports []int
	for _, f := range procNetFiles {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 in this kernel or namespace
		}
		if err != nil {
			return nil, err
		}
		ports = append(ports, parseListenPorts(data)...)
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

// parseListenPorts extracts the local ports of listening sockets from the
// text of /proc/net/tcp or /proc/net/tcp6. Lines it cannot read are skipped:
// the kernel's format is fixed, and a guess is better than no relay.
func parseListenPorts(data []byte) []int {
	var ports []int
	for _, s := range parseListenSockets(data) {
		ports = append(ports, s.Port)
	}
	return ports
}
