package server_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/previewd/previewd/sandbox"
)

// silentAddr returns a 127.0.0.1 address whose connections neither
// complete nor are refused, as a firewalled index's do: a listener with a
// backlog of one that is never accepted from, its queue filled, so the
// kernel drops further SYNs.
func silentAddr(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			break // the queue is full
		}
		t.Cleanup(func() { c.Close() })
		if i > 10 {
			t.Fatal("the listener's queue never fills")
		}
	}
	return addr
}

// helloExpressApp is an Express app whose package.json asks for extra.
func helloExpressApp(extra string) []map[string]string {
	return []map[string]string{
		{"path": "server.js", "content": "const app = require('express')();\napp.get('/', (req, res) => res.json({hello: 'world'}));\napp.listen(Number(process.env.PORT), process.env.HOST);\n"},
		{"path": "package.json", "content": `{"name": "app", "main": "server.js", "dependencies": {"express": "^4.18.2", ` + extra + `}}`},
	}
}

// assertLegibleInstallFailure checks a failed install's answer: 422
// launch_failed, a message with each of says and without internal names,
// and a log_tail of plain lines holding each of tail.
func assertLegibleInstallFailure(t *testing.T, got response, says, tail []string) {
	t.Helper()
	msg, _ := got.errorField("message").(string)
	if got.status != http.StatusUnprocessableEntity || got.errorCode() != "launch_failed" {
		t.Fatalf("failed install: %d %s", got.status, got.raw)
	}
	for _, s := range says {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not say %q", msg, s)
		}
	}
	for _, bad := range []string{"previewd/", "RUN ", "FROM ", "/opt/", "/tmp/", "/run/", "exit status"} {
		if strings.Contains(msg, bad) {
			t.Errorf("message %q has %q", msg, bad)
		}
	}
	lines, _ := got.errorField("log_tail").([]any)
	var all []string
	for _, l := range lines {
		s, _ := l.(string)
		if strings.ContainsAny(s, "\x1b\r") || strings.Contains(s, "previewd/deps") {
			t.Errorf("log_tail line %q has an escape or an internal name", s)
		}
		all = append(all, s)
	}
	joined := strings.Join(all, "\n")
	for _, s := range tail {
		if !strings.Contains(joined, s) {
			t.Errorf("log_tail lacks %q:\n%s", s, joined)
		}
	}
}

// TestDependencyIndexUnreachable: with the configured index or registry at
// an address that never answers, the launch fails on the connection error,
// not on the install's time-out (the message says unreachable), with a
// message that names the package and the configured source, not the proxy.
// How long the failure took is logged, not asserted: this machine's load
// decides it.
func TestDependencyIndexUnreachable(t *testing.T) {
	requireInfra(t, true)
	// TEST-NET-1 (RFC 5737) is routed nowhere (where the host has no route
	// at all, connecting fails at once); silentAddr's connections hang,
	// the worst case for failing fast.
	const blackhole = "http://192.0.2.1:81"
	silent := "http://" + silentAddr(t)
	for _, tc := range []struct {
		name   string
		config func(*sandbox.Config)
		files  []map[string]string
		says   []string
	}{
		{"pip", func(c *sandbox.Config) { c.Deps.PipIndexURL = blackhole + "/simple/" },
			[]map[string]string{{"path": "main.py", "content": helloFastAPI}, {"path": "requirements.txt", "content": "unreachable-demo-pkg==1.0\n"}},
			[]string{"unreachable-demo-pkg==1.0", "package index at " + blackhole + "/simple/", "unreachable"}},
		{"npm", func(c *sandbox.Config) { c.Deps.NpmRegistry = blackhole + "/" },
			helloExpressApp(`"unreachable-demo-pkg": "^1.0.0"`),
			[]string{"unreachable-demo-pkg@^1.0.0", "npm registry at " + blackhole + "/", "unreachable"}},
		{"pip, connections hang", func(c *sandbox.Config) { c.Deps.PipIndexURL = silent + "/simple/" },
			[]map[string]string{{"path": "main.py", "content": helloFastAPI}, {"path": "requirements.txt", "content": "unreachable-demo-pkg==1.0\n"}},
			[]string{"unreachable-demo-pkg==1.0", "package index at " + silent + "/simple/", "unreachable"}},
		{"npm, connections hang", func(c *sandbox.Config) { c.Deps.NpmRegistry = silent + "/" },
			helloExpressApp(`"unreachable-demo-pkg": "^1.0.0"`),
			[]string{"unreachable-demo-pkg@^1.0.0", "npm registry at " + silent + "/", "unreachable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *sandbox.Config, _ *serverConfig) {
				tc.config(c)
				c.Deps.Timeout = time.Minute
			})
			r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": tc.files})
			mustStatus(t, r, http.StatusCreated)
			start := time.Now()
			got := e.launch("alice", r.body["id"].(string), nil)
			took := time.Since(start)
			t.Logf("%s: failed in %s: %s", tc.name, took.Round(10*time.Millisecond), got.errorField("message"))
			assertLegibleInstallFailure(t, got, tc.says, nil)
			assertNoBuildLeftovers(t, e)
		})
	}
}

// TestDependencyNoVersion: a version the registry lacks fails with the
// package, its range and the registry named, and npm's decisive lines in
// log_tail.
func TestDependencyNoVersion(t *testing.T) {
	requireInfra(t, true)
	var registry *httptest.Server
	registry = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version-demo-pkg" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name": "version-demo-pkg", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {"name": "version-demo-pkg", "version": "1.0.0", "dist": {"tarball": "%s/version-demo-pkg/-/version-demo-pkg-1.0.0.tgz"}}}}`, registry.URL)
	}))
	defer registry.Close()
	e := newEnv(t, func(c *sandbox.Config, _ *serverConfig) { c.Deps.NpmRegistry = registry.URL + "/" })
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": helloExpressApp(`"version-demo-pkg": "^2.0.0"`)})
	mustStatus(t, r, http.StatusCreated)
	got := e.launch("alice", r.body["id"].(string), nil)
	t.Logf("message: %s", got.errorField("message"))
	assertLegibleInstallFailure(t, got,
		[]string{"no version of version-demo-pkg satisfies ^2.0.0", "npm registry at " + registry.URL + "/"},
		[]string{"npm ERR! code ETARGET", "No matching version found for version-demo-pkg@^2.0.0"})
	assertNoBuildLeftovers(t, e)
}
