package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testAppMain runs the test binary as a stand-in app when the environment
// asks for one, and reports whether it did (it then never returns). With
// SHIM_TEST_APP=VERSION it answers every request with VERSION on $PORT;
// with "crash" it exits 3 at once, with "mute" it never listens. With
// SHIM_TEST_PRELOADER=1 it is a preloader: it reports ready on fd 3, reads
// its load line and becomes the app the line's env describes.
func testAppMain() {
	if os.Getenv("SHIM_TEST_PRELOADER") == "1" {
		f := os.NewFile(3, "ready")
		_, _ = f.Write([]byte("r"))
		f.Close()
		line, err := bufio.NewReader(os.Stdin).ReadBytes('\n')
		if err != nil {
			os.Exit(0) // removed unused
		}
		var req struct{ Env []string }
		if err := json.Unmarshal(line, &req); err != nil {
			os.Exit(2)
		}
		for _, kv := range req.Env {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
		serveTestApp(os.Getenv("SHIM_TEST_APP") + "+preloaded")
	}
	switch v := os.Getenv("SHIM_TEST_APP"); v {
	case "":
		return
	case "crash":
		fmt.Fprintln(os.Stderr, "crashing on purpose")
		os.Exit(3)
	case "mute":
		time.Sleep(time.Hour)
	case "report-routes":
		reportTestRoutes()
		time.Sleep(time.Hour)
	default:
		serveTestApp(v)
	}
}

func serveTestApp(version string) {
	if os.Getenv("SHIM_TEST_IGNORE_TERM") == "1" {
		// As a server that answers on open connections while it shuts
		// down: only SIGKILL ends it.
		signal.Ignore(syscall.SIGTERM)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, version)
	}))
	os.Exit(1)
}

// getApp asks the app through app.sock, as the host does.
func getApp(t *testing.T, p *shimProc) (string, error) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", filepath.Join(p.runDir, "app.sock"))
		},
	}, Timeout: 5 * time.Second}
	resp, err := c.Get("http://app/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func reloadBody(version string, port int, extra map[string]any) io.Reader {
	body := map[string]any{
		"command": []string{os.Args[0]},
		"env":     []string{"SHIM_TEST_APP=" + version, "PORT=" + strconv.Itoa(port)},
		"port":    port,
	}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	return strings.NewReader(string(b))
}

// startTestApp starts a shim relaying to a fresh port and version v1 of
// the stand-in app on it.
func startTestApp(t *testing.T) (*shimProc, int) {
	t.Helper()
	port := freePort(t)
	p := startShim(t, "PREVIEW_APP_PORT="+strconv.Itoa(port))
	start, _ := json.Marshal(map[string]any{"argv": []string{os.Args[0]}, "env": []string{"SHIM_TEST_APP=v1", "PORT=" + strconv.Itoa(port)}})
	if code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(string(start))); code != http.StatusNoContent {
		t.Fatalf("POST /start = %d %q", code, body)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got, err := getApp(t, p); err == nil && got == "v1" {
			return p, port
		}
		if time.Now().After(deadline) {
			t.Fatalf("v1 does not answer; stderr: %s", p.stderr)
		}
	}
}

func TestShimReloadReplacesTheApp(t *testing.T) {
	p, port1 := startTestApp(t)
	port2 := freePort(t)

	code, body := p.do(t, http.MethodPost, "/reload", reloadBody("v2", port2, nil))
	if code != http.StatusOK {
		t.Fatalf("POST /reload = %d %q", code, body)
	}
	var ans reloadAnswer
	if err := json.Unmarshal([]byte(body), &ans); err != nil || ans.Port != port2 || ans.Preloaded {
		t.Errorf("answer %q (%v), want port %d, not preloaded", body, err, port2)
	}
	if got, err := getApp(t, p); got != "v2" {
		t.Errorf("after the reload the app answers %q (%v), want v2", got, err)
	}
	// The old version is retired: its port stops answering.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port1))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the old version still listens 10 s after the reload")
		}
	}
	// A reload to the port now serving is refused, saying which it is.
	code, body = p.do(t, http.MethodPost, "/reload", reloadBody("v3", port2, nil))
	if code != http.StatusConflict || !strings.Contains(body, `"port":`+strconv.Itoa(port2)) {
		t.Errorf("reload to the serving port = %d %q, want 409 naming it", code, body)
	}
	// The shim now lives as long as v2: its exit code is the shim's.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exitCode(t); code != 128+int(syscall.SIGTERM) {
		t.Errorf("shim exit code %d, want %d", code, 128+int(syscall.SIGTERM))
	}
}

func TestShimReloadFailureKeepsTheOldVersion(t *testing.T) {
	p, _ := startTestApp(t)

	code, body := p.do(t, http.MethodPost, "/reload", reloadBody("crash", freePort(t), nil))
	var fail reloadFailure
	if err := json.Unmarshal([]byte(body), &fail); code != http.StatusUnprocessableEntity || err != nil || fail.ExitCode != 3 {
		t.Errorf("reload to a crashing version = %d %q, want 422 with exit_code 3", code, body)
	}
	if got, err := getApp(t, p); got != "v1" {
		t.Errorf("after a crashed reload the app answers %q (%v), want v1", got, err)
	}

	// A version that never answers is killed when the caller gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://shim/reload", reloadBody("mute", freePort(t), nil))
	if resp, err := p.client.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("reload to a mute version answered %s before its caller gave up", resp.Status)
	}
	// Once that candidate is gone another reload may start.
	var last string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, body = p.do(t, http.MethodPost, "/reload", reloadBody("v2", freePort(t), nil))
		if code == http.StatusOK {
			break
		}
		last = fmt.Sprintf("%d %s", code, body)
		if time.Now().After(deadline) {
			t.Fatalf("reload after an abandoned one: %s", last)
		}
	}
	if got, err := getApp(t, p); got != "v2" {
		t.Errorf("the app answers %q (%v), want v2", got, err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.exitCode(t)
}

func TestShimReloadFromStandby(t *testing.T) {
	p, _ := startTestApp(t)
	// Before any app runs a standby is refused; here v1 runs.
	standby, _ := json.Marshal(map[string]any{"argv": []string{"env", "SHIM_TEST_PRELOADER=1", os.Args[0]}})
	if code, body := p.do(t, http.MethodPost, "/standby", strings.NewReader(string(standby))); code != http.StatusNoContent {
		t.Fatalf("POST /standby = %d %q", code, body)
	}
	for i, v := range []string{"v2", "v3"} {
		if code, body := p.do(t, http.MethodGet, "/standby", nil); code != http.StatusNoContent {
			t.Fatalf("GET /standby = %d %q", code, body)
		}
		code, body := p.do(t, http.MethodPost, "/reload", reloadBody(v, freePort(t), map[string]any{"exec": []string{"app"}}))
		var ans reloadAnswer
		if err := json.Unmarshal([]byte(body), &ans); code != http.StatusOK || err != nil || !ans.Preloaded {
			t.Fatalf("reload %d = %d %q, want 200 from the standby", i+1, code, body)
		}
		if got, err := getApp(t, p); got != v+"+preloaded" {
			t.Errorf("reload %d: the app answers %q (%v), want %s+preloaded", i+1, got, err, v)
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.exitCode(t)
}

func TestShimRemove(t *testing.T) {
	p := startShim(t)
	for _, f := range []string{"a.py", "pkg/b.py"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(p.appDir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p.appDir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{`{"paths": ["../x"]}`, `{"paths": ["/etc/passwd"]}`, `{"paths": ["."]}`, `{`} {
		if code, body := p.do(t, http.MethodPost, "/remove", strings.NewReader(bad)); code != http.StatusBadRequest {
			t.Errorf("POST /remove %s = %d %q, want 400", bad, code, body)
		}
	}
	if code, body := p.do(t, http.MethodPost, "/remove", strings.NewReader(`{"paths": ["pkg/b.py", "gone.py"]}`)); code != http.StatusNoContent {
		t.Fatalf("POST /remove = %d %q", code, body)
	}
	if _, err := os.Stat(filepath.Join(p.appDir, "pkg/b.py")); !os.IsNotExist(err) {
		t.Errorf("pkg/b.py still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(p.appDir, "a.py")); err != nil {
		t.Errorf("a.py was removed too: %v", err)
	}
}

func TestShimReloadRefusesABusyPort(t *testing.T) {
	p, _ := startTestApp(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	code, body := p.do(t, http.MethodPost, "/reload", reloadBody("v2", busy, nil))
	if code != http.StatusConflict || !strings.Contains(body, `"port":`+strconv.Itoa(busy)) {
		t.Errorf("reload to a port in use = %d %q, want 409 naming it", code, body)
	}
	if got, err := getApp(t, p); got != "v1" {
		t.Errorf("the app answers %q (%v), want v1", got, err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.exitCode(t)
}

// TestShimReloadMovesKeptAliveConnections: a client's keep-alive connection
// to the old version is closed once idle, so its next request reaches the
// new version, even when the old one would answer on it while it stops.
func TestShimReloadMovesKeptAliveConnections(t *testing.T) {
	port := freePort(t)
	p := startShim(t, "PREVIEW_APP_PORT="+strconv.Itoa(port))
	start, _ := json.Marshal(map[string]any{"argv": []string{os.Args[0]},
		"env": []string{"SHIM_TEST_APP=v1", "SHIM_TEST_IGNORE_TERM=1", "PORT=" + strconv.Itoa(port)}})
	if code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(string(start))); code != http.StatusNoContent {
		t.Fatalf("POST /start = %d %q", code, body)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", filepath.Join(p.runDir, "app.sock"))
		},
	}, Timeout: 5 * time.Second}
	get := func() string {
		resp, err := client.Get("http://app/")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for deadline := time.Now().Add(10 * time.Second); get() != "v1"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("v1 does not answer")
		}
	}
	if code, body := p.do(t, http.MethodPost, "/reload", reloadBody("v2", freePort(t), nil)); code != http.StatusOK {
		t.Fatalf("POST /reload = %d %q", code, body)
	}
	time.Sleep(100 * time.Millisecond) // longer than the relay takes to see the connection idle
	if got := get(); got != "v2" {
		t.Errorf("the kept-alive client got %q after the reload, want v2", got)
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	p.exitCode(t)
}
