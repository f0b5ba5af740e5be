package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slowExpress is an Express app whose POST /echo answers after 30 ms, so
// that a request is in flight most of the time under load; a POST is never
// sent again by a client that lost its connection.
const slowExpress = `const express = require('express');
const app = express();
app.use(express.json());
app.get('/', (req, res) => res.type('text/plain').send('version %d\n'));
app.post('/echo', (req, res) => setTimeout(() => res.json({ got: req.body, version: %d }), 30));
app.listen(Number(process.env.PORT) || 8000, process.env.HOST || '0.0.0.0');
`

// TestReloadColdExpressDropsNothing: a client sending POSTs back to back
// through the browser proxy while a cold Express app (its first version
// started by the container's own command, later ones too while no
// preloader is ready) is updated again and again sees none fail: each
// retired version finishes what it is answering.
func TestReloadColdExpressDropsNothing(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	files := func(v int) []map[string]string {
		return []map[string]string{
			{"path": "server.js", "content": fmt.Sprintf(slowExpress, v, v)},
			{"path": "package.json", "content": sampleFile(t, "express", "package.json")},
		}
	}
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": files(1)})
	mustStatus(t, r, http.StatusCreated)
	gen := r.body["id"].(string)
	r = e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	id, tok := r.body["preview_id"].(string), r.body["session_token"].(string)
	defer e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)

	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 15 * time.Second}
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(1)
			resp, err := client.Post(e.api.URL+"/p/"+id+"/~"+tok+"/echo", "application/json", strings.NewReader(fmt.Sprintf(`{"n":%d}`, n)))
			if err != nil {
				failed.Add(1)
				firstFailure.CompareAndSwap(nil, err.Error())
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), fmt.Sprintf(`"n":%d`, n)) {
				failed.Add(1)
				firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %.200s", resp.StatusCode, body))
			}
		}
	}()
	for v := 2; v <= 9; v++ {
		time.Sleep(100 * time.Millisecond)
		r := e.patch("alice", gen, map[string]any{"files": files(v)})
		mustStatus(t, r, http.StatusOK)
		if r.body["reload"] != "in_place" {
			t.Fatalf("patch %d: %s", v, r.raw)
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	<-done
	t.Logf("%d POSTs during 8 updates, %d failed (first: %v)", sent.Load(), failed.Load(), firstFailure.Load())
	if sent.Load() == 0 || failed.Load() != 0 {
		t.Errorf("%d of %d proxied POSTs failed during the updates; the first: %v", failed.Load(), sent.Load(), firstFailure.Load())
	}
}
