package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/previewd/previewd/db"
)

// orderApp prints 3000 stdout lines and a stderr line after every hundredth
// at start-up, one print at a time (PYTHONUNBUFFERED): "count N" then, for
// N a multiple of 100, "err N". It pauses 50 ms after each stderr line: the
// order of two pipes' writes is known only up to the time a reader takes to
// see them, and the whole start-up would otherwise print in a few
// milliseconds, faster than any reader (the engine's own, with pacing off,
// included) is scheduled on a busy host.
const orderApp = `import sys
import time
from flask import Flask

for i in range(1, 3001):
    print(f"count {i}")
    if i % 100 == 0:
        print(f"err {i}", file=sys.stderr)
        time.sleep(0.05)

app = Flask(__name__)


@app.route("/")
def index():
    return "ordered\n"
`

// TestPacedLogKeepsStreamOrder: under output pacing (previewd's default
// rate, which a start-up of 3030 lines exceeds) the stored log keeps the
// order the app printed in across stdout and stderr: every "err N" is stored
// near "count N", not after lines printed seconds later.
func TestPacedLogKeepsStreamOrder(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) {
		c.OutputLinesPerSec = 500 // previewd's default
	})
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": []map[string]string{
		{"path": "app.py", "content": orderApp},
		{"path": "requirements.txt", "content": "Flask>=2.2\n"},
	}})
	mustStatus(t, r, http.StatusCreated)
	r = e.launch("alice", r.body["id"].(string), nil)
	mustStatus(t, r, http.StatusCreated)
	id := r.body["preview_id"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lines []db.LogLine
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		lines = e.allLogs(ctx, id)
		n := 0
		for _, l := range lines {
			if l.Stream == db.StreamStdout || l.Stream == db.StreamStderr {
				n++
			}
		}
		if n >= 3030 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the app's 3030 lines stored after 30 s", n)
		}
	}
	at := map[string]int{}
	for i, l := range lines {
		at[l.Stream+" "+l.Line] = i
	}
	// Within slack lines of where it was printed: the order of the two
	// pipes' writes is known up to the time the shim and then the engine
	// take to read them, tens of milliseconds on a loaded host. Output
	// paced per stream stored stderr lines thousands of lines late.
	const slack, tight = 100, 5
	late, near := 0, 0
	for n := 100; n <= 3000; n += 100 {
		ci, okc := at[fmt.Sprintf("stdout count %d", n)]
		ei, oke := at[fmt.Sprintf("stderr err %d", n)]
		if !okc || !oke {
			t.Errorf("count %d on stdout or err %d on stderr missing", n, n)
			continue
		}
		if ei > ci-tight && ei <= ci+tight {
			near++
		}
		if ei < ci-slack || ei > ci+slack {
			late++
			t.Logf("err %d stored at %d, count %d at %d: %s", n, lines[ei].Seq, n, lines[ci].Seq, around(lines, ei))
		}
	}
	t.Logf("%d of 30 stderr lines stored within %d lines of where they were printed", near, tight)
	if late > 0 {
		t.Errorf("%d of 30 stderr lines stored more than %d lines away from where they were printed", late, slack)
	}
}
