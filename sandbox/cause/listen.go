package cause

import (
	"fmt"
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
