package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func post(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/start", strings.NewReader(body)))
	return rec
}

func waitCode(t *testing.T, ch <-chan int) int {
	t.Helper()
	select {
	case code := <-ch:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("no exit code within 10s")
		return 0
	}
}

func TestHealthz(t *testing.T) {
	rec := httptest.NewRecorder()
	newControlHandler(newSupervisor(t.TempDir(), nil)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Errorf("GET /healthz = %d %q", rec.Code, rec.Body)
	}
}

func TestStartRejectsBadRequests(t *testing.T) {
	for _, body := range []string{`{`, `{"argv": []}`, `{}`, `{"argv": ["sh"], "env": ["NOEQUALS"]}`, `{"argv": "sh"}`} {
		sup := newSupervisor(t.TempDir(), os.Environ())
		if rec := post(t, newControlHandler(sup), body); rec.Code != http.StatusBadRequest {
			t.Errorf("POST /start %s = %d, want 400", body, rec.Code)
		}
		if sup.state != idle {
			t.Errorf("POST /start %s left state %v, want idle", body, sup.state)
		}
	}
}

func TestStartRunsChildOnce(t *testing.T) {
	dir := t.TempDir()
	sup := newSupervisor(dir, []string{"PATH=" + os.Getenv("PATH"), "PREVIEW_APP_PORT=1", "KEEP=base", "OVER=base"})
	h := newControlHandler(sup)

	// The child records its cwd and env, then exits 3.
	rec := post(t, h, `{"argv": ["sh", "-c", "pwd > out; env >> out; exit 3"], "env": ["OVER=given", "NEW=x"]}`)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("POST /start = %d %q, want 204", rec.Code, rec.Body)
	}
	if rec := post(t, h, `{"argv": ["true"]}`); rec.Code != http.StatusConflict {
		t.Errorf("second POST /start = %d, want 409", rec.Code)
	}
	if code := waitCode(t, sup.exited); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}

	out, err := os.ReadFile(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	if lines[0] != dir {
		t.Errorf("child ran in %q, want %q", lines[0], dir)
	}
	for _, want := range []string{"KEEP=base", "OVER=given", "NEW=x"} {
		if !slices.Contains(lines, want) {
			t.Errorf("child env lacks %s", want)
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "PREVIEW_") || l == "OVER=base" {
			t.Errorf("child env has %s", l)
		}
	}
}

func TestStartExecFailure(t *testing.T) {
	sup := newSupervisor(t.TempDir(), []string{"PATH=/nonexistent"})
	rec := post(t, newControlHandler(sup), `{"argv": ["uvicorn"]}`)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "uvicorn") {
		t.Errorf("POST /start = %d %q, want 422 naming the command", rec.Code, rec.Body)
	}
	if code := waitCode(t, sup.execFailed); code != 127 {
		t.Errorf("exit code %d, want 127", code)
	}
}

func TestForward(t *testing.T) {
	sup := newSupervisor(t.TempDir(), os.Environ())
	if sup.forward(syscall.SIGTERM) {
		t.Fatal("forward before start asked to keep waiting")
	}
	if err := sup.start([]string{"true"}, nil, false); err != errAlreadyStarted {
		t.Errorf("start after a signal = %v, want errAlreadyStarted", err)
	}

	// The signal must reach a grandchild too: sh waits for sleep, which is
	// in the same process group.
	sup = newSupervisor(t.TempDir(), os.Environ())
	if err := sup.start([]string{"sh", "-c", "sleep 30; exit 0"}, nil, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let sh start sleep
	if !sup.forward(syscall.SIGTERM) {
		t.Fatal("forward with a running child did not ask to wait")
	}
	if code := waitCode(t, sup.exited); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit code %d, want %d", code, 128+int(syscall.SIGTERM))
	}
}

func TestLineLimiterPaces(t *testing.T) {
	var notice strings.Builder
	l := newLineLimiter(100, &notice)
	clock := time.Unix(0, 0)
	var slept time.Duration
	l.now = func() time.Time { return clock }
	l.last = clock
	l.sleep = func(d time.Duration) { slept += d; clock = clock.Add(d) }

	l.wait(100) // the burst
	if slept != 0 || notice.Len() != 0 {
		t.Fatalf("within the burst: slept %s, notice %q", slept, notice.String())
	}
	l.wait(50) // half a second's worth over
	if slept != 500*time.Millisecond {
		t.Errorf("slept %s for 50 lines over at 100/s, want 500ms", slept)
	}
	if !strings.Contains(notice.String(), "slowed down") {
		t.Errorf("no notice: %q", notice.String())
	}
	clock = clock.Add(10 * time.Second) // idle: the bucket refills to the burst only
	slept = 0
	l.wait(150)
	if slept != 500*time.Millisecond {
		t.Errorf("after idling slept %s, want 500ms (burst 100)", slept)
	}
	if strings.Count(notice.String(), "\n") != 1 {
		t.Errorf("the notice is given once: %q", notice.String())
	}
}

func TestWithNodeDrain(t *testing.T) {
	const m = "/opt/previewd/drain.js"
	for _, tc := range []struct{ env, want []string }{
		{[]string{"A=1"}, []string{"A=1", "NODE_OPTIONS=--require " + m}},
		{[]string{"NODE_OPTIONS=--max-old-space-size=64", "B=2"}, []string{"NODE_OPTIONS=--require " + m + " --max-old-space-size=64", "B=2"}},
		{[]string{"NODE_OPTIONS="}, []string{"NODE_OPTIONS=--require " + m}},
	} {
		if got := withNodeDrain(tc.env, m); !slices.Equal(got, tc.want) {
			t.Errorf("withNodeDrain(%q) = %q, want %q", tc.env, got, tc.want)
		}
	}
}
