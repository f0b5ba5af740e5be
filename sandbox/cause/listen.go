package cause

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Compiled once; they are read-only.
var (
	reListenURL  = regexp.MustCompile(`(?i)(?:listen|running|serving|started|server|start|ready|bound|up)\b.*?\bhttps?://(\[[0-9a-f:]+\]|[\w.\-]+):(\d+)`)
	reListenPort = regexp.MustCompile(`(?i)(?:listen(?:ing)?|running|serving|started|server)\b.*?\bport\s*:?\s*(\d{2,5})\b`)
	reGunicorn   = regexp.MustCompile(`\[INFO\] Listening at: `)
)

// listenAddr is an address the app said it listens on.
type listenAddr struct {
	host string // "" when the app named only a port
	port int
}

func (a listenAddr) String() string {
	if a.host == "" {
		return fmt.Sprintf("port %d", a.port)
	}
	return fmt.Sprintf("%s:%d", a.host, a.port)
}

// reachable reports whether previewd reaches an app listening on a.
func (a listenAddr) reachable(port int) bool {
	if a.port != port {
		return false
	}
	switch a.host {
	case "", "0.0.0.0", "[::]", "::", "*":
		return true
	}
	return false
}

// listened collects the addresses the app printed that it listens on. The
// line gunicorn prints for its own socket is previewd's server, not the
// app's, and does not count.
func listened(lines []string) []listenAddr {
	var out []listenAddr
	seen := map[listenAddr]bool{}
	add := func(a listenAddr) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, l := range lines {
		if reGunicorn.MatchString(l) {
			continue
		}
		if m := reListenURL.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			add(listenAddr{host: m[1], port: n})
			continue
		}
		if m := reListenPort.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			add(listenAddr{port: n})
		}
	}
	return out
}

// notListening explains a start-up that timed out with the process still
// running: the app listens somewhere previewd cannot reach, or nowhere.
func notListening(lines []string, f Facts) Cause {
	if f.SocketsSeen {
		c, ok := fromSockets(lines, f)
		if !ok {
			c = fromClaims(lines, f)
			c.Listening = f.Sockets
		}
		return c
	}
	return fromClaims(lines, f)
}

// fromClaims explains a start-up that timed out from the addresses the app
// printed that it listens on.
func fromClaims(lines []string, f Facts) Cause {
	addrs := listened(lines)
	var names []string
	for _, a := range addrs {
		if a.reachable(f.Port) && a.host != "" {
			return Cause{Kind: Timeout, Message: fmt.Sprintf("the app says it listens on %s but did not answer HTTP within %s", a, f.Timeout),
				Hint: "the app accepts connections but does not answer: look for a blocking call in start-up or in the handler of /"}
		}
		names = append(names, a.String())
	}
	c := Cause{Kind: PortNotOpened, Hint: fmt.Sprintf("listen on 0.0.0.0 and the port in $PORT (%d)", f.Port)}
	if len(names) == 0 {
		c.Message = fmt.Sprintf("the app kept running but did not listen on port %d within %s", f.Port, f.Timeout)
		c.Hint = fmt.Sprintf("start the server at start-up, listening on 0.0.0.0 and the port in $PORT (%d); a blocking call before it keeps it from starting", f.Port)
		return c
	}
	c.Symbol = names[0]
	c.Message = fmt.Sprintf("the app listens on %s, which previewd cannot reach; it must listen on 0.0.0.0:%d", strings.Join(names, ", "), f.Port)
	return c
}

// Socket is a TCP socket in LISTEN state in the app's container.
type Socket struct {
	Address string `json:"address"`
	Port    int    `json:"port"`
}

func (s Socket) String() string {
	return net.JoinHostPort(s.Address, strconv.Itoa(s.Port))
}

// relayed reports whether previewd's relay, which connects to the app on
// 127.0.0.1 inside the container, reaches a socket listening on s.
func (s Socket) relayed() bool {
	switch s.Address {
	case "0.0.0.0", "127.0.0.1", "::":
		return true
	}
	return false
}

// fromSockets explains a start-up that timed out from the sockets the shim
// saw: none at all, only ones previewd cannot reach, or previewd's own
// server's socket beside a server the app started while it was loaded. It
// gives way (false) when the shim saw no socket of the app's but the app
// said it listens where previewd cannot reach: a gunicorn worker being
// replaced, or a socket closed again, leaves what it printed the better
// account.
func fromSockets(lines []string, f Facts) (Cause, bool) {
	want := Socket{Address: "0.0.0.0", Port: f.Port}
	var onPort bool
	var others []Socket
	for _, s := range f.Sockets {
		if s.Port == f.Port && s.relayed() {
			onPort = true
			continue
		}
		others = append(others, s)
	}
	names := make([]string, len(others))
	for i, s := range others {
		names[i] = s.String()
	}
	c := Cause{Kind: PortNotOpened, Listening: f.Sockets}
	held := serverHeld(lines)
	switch {
	case onPort && !held:
		return Cause{Kind: Timeout, Listening: f.Sockets,
			Message: fmt.Sprintf("the app listens on %s but did not answer HTTP within %s", want, f.Timeout),
			Hint:    "the app accepts connections but does not answer: look for a blocking call in start-up or in the handler of /"}, true
	case len(others) == 0:
		for _, a := range listened(lines) {
			if !a.reachable(f.Port) {
				return Cause{}, false
			}
		}
		c.Message = fmt.Sprintf("the app kept running but listens on no TCP port; previewd expects it on %s ($PORT) within %s", want, f.Timeout)
		if held {
			c.Message = fmt.Sprintf("the app did not finish loading within %s and listens on no TCP port of its own; the server previewd runs holds %s and waits for it", f.Timeout, want)
		}
		c.Hint = fmt.Sprintf("start the server at start-up, listening on 0.0.0.0 and the port in $PORT (%d); a blocking call before it keeps it from starting", f.Port)
		return c, true
	case held:
		// The socket on $PORT is the one previewd's server opened; its
		// worker is still loading the app, which serves elsewhere.
		c.Message = fmt.Sprintf("the app listens on %s: it starts a server of its own while it is loaded, so the server previewd runs on %s never gets to serve it", strings.Join(names, ", "), want)
		c.Hint = "start the server only under if __name__ == \"__main__\": previewd loads the app and serves it on 0.0.0.0:$PORT"
	default:
		c.Message = fmt.Sprintf("the app listens on %s only; previewd reaches it on %s", strings.Join(names, ", "), want)
		c.Hint = fmt.Sprintf("bind to 0.0.0.0 or $HOST and listen on $PORT (%d)", f.Port)
		for _, s := range others {
			if s.Port != f.Port {
				c.Message = fmt.Sprintf("the app listens on %s, expected $PORT %d on 0.0.0.0", strings.Join(names, ", "), f.Port)
				break
			}
		}
	}
	c.Symbol = names[0]
	return c, true
}

// serverHeld reports whether the output shows previewd's own server (gunicorn)
// listening: its socket on $PORT is not the app's.
func serverHeld(lines []string) bool {
	for _, l := range lines {
		if reGunicorn.MatchString(l) {
			return true
		}
	}
	return false
}
