package cause

import (
	"strings"
	"testing"
)

// TestSocketsCause covers a start-up that timed out while the app ran, told
// by the sockets the shim saw listening in the container.
func TestSocketsCause(t *testing.T) {
	gunicorn := "[2026-12-07 08:25:55 +0000] [16] [INFO] Listening at: http://0.0.0.0:8000 (16)"
	sources := map[string]string{"app.py": "from flask import Flask\napp = Flask(__name__)\n\napp.run(host=\"127.0.0.1\", port=5000)\n"}
	cases := []struct {
		name    string
		lines   []string
		sockets []Socket
		sources map[string]string
		kind    string
		message string // a part of the message
		file    string
		line    int
	}{
		{"no socket at all", []string{"waiting for the database..."}, []Socket{}, nil,
			PortNotOpened, "listens on no TCP port; previewd expects it on 0.0.0.0:8000", "", 0},
		{"loopback of IPv6 only, on $PORT", []string{"listening"}, []Socket{{"::1", 8000}}, nil,
			PortNotOpened, "listens on [::1]:8000 only; previewd reaches it on 0.0.0.0:8000", "", 0},
		{"another port on an address previewd cannot reach", nil, []Socket{{"::1", 5000}}, nil,
			PortNotOpened, "listens on [::1]:5000, expected $PORT 8000", "", 0},
		{"gunicorn holds $PORT, the app serves on its own", []string{gunicorn, " * Running on http://127.0.0.1:5000"},
			[]Socket{{"0.0.0.0", 8000}, {"127.0.0.1", 5000}}, sources,
			PortNotOpened, "the app listens on 127.0.0.1:5000: it starts a server of its own", "app.py", 4},
		{"gunicorn holds $PORT, the app never loads", []string{gunicorn, "waiting"}, []Socket{{"0.0.0.0", 8000}}, nil,
			PortNotOpened, "listens on no TCP port of its own", "", 0},
		{"listens on $PORT, does not answer", []string{"ready"}, []Socket{{"0.0.0.0", 8000}}, nil,
			Timeout, "listens on 0.0.0.0:8000 but did not answer", "", 0},
		{"loopback on $PORT is reached", nil, []Socket{{"127.0.0.1", 8000}}, nil,
			Timeout, "did not answer HTTP", "", 0},
		{"gunicorn holds $PORT, the app said where it listens and the shim saw none of it", []string{gunicorn, " * Running on http://127.0.0.1:5000"},
			[]Socket{{"0.0.0.0", 8000}}, sources,
			PortNotOpened, "the app listens on 127.0.0.1:5000, which previewd cannot reach", "app.py", 4},
		{"the output's claim gives way to the sockets", []string{"Server running at http://0.0.0.0:8000/"}, []Socket{}, nil,
			PortNotOpened, "listens on no TCP port", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Diagnose(c.lines, Facts{TimedOut: true, Timeout: "20s", Port: 8000, Sockets: c.sockets, SocketsSeen: true, Sources: c.sources})
			if got.Kind != c.kind || !strings.Contains(got.Message, c.message) || got.File != c.file || got.Line != c.line {
				t.Fatalf("got %s %q at %s:%d, want %s %q at %s:%d", got.Kind, got.Message, got.File, got.Line, c.kind, c.message, c.file, c.line)
			}
			if got.Hint == "" || len(got.Listening) != len(c.sockets) {
				t.Fatalf("hint %q, listening %v: want a hint and the sockets %v", got.Hint, got.Listening, c.sockets)
			}
		})
	}
}

// TestPidsCause covers an app that ran into its process cap, told by the
// pids cgroup's refusals whatever the app printed.
func TestPidsCause(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		facts Facts
		file  string
		line  int
	}{
		{"refused, printed nothing", nil, Facts{TimedOut: true, PidsRefused: 3, PidsLimit: 64}, "", 0},
		{"refused, a traceback places it", []string{"Traceback (most recent call last):", `  File "/app/main.py", line 9, in <module>`,
			"    t.start()", `  File "/usr/lib/python3.11/threading.py", line 964, in start`, "RuntimeError: something odd"},
			Facts{ExitCode: intp(1), PidsRefused: 1, PidsLimit: 64}, "main.py", 9},
		{"the shim's line after the exit", []string{"Killed", "previewshim: the app reached its process limit (pids 64): the kernel refused 12 new processes or threads"},
			Facts{ExitCode: intp(137), PidsLimit: 64}, "", 0},
		{"node: thread pool refused", []string{"node:internal/process/esm_loader:40", "Error: spawn /bin/sh EAGAIN",
			"    at ChildProcess._handle.onexit (node:internal/child_process:286:19)", "    at Object.<anonymous> (/app/server.js:7:3)"},
			Facts{ExitCode: intp(1), PidsLimit: 64}, "server.js", 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Diagnose(c.lines, c.facts)
			if got.Kind != PidsLimit || got.File != c.file || got.Line != c.line || got.Message == "" || got.Hint == "" || got.PidsRefused != c.facts.PidsRefused {
				t.Fatalf("got %+v, want pids_limit at %s:%d", got, c.file, c.line)
			}
		})
	}
}
