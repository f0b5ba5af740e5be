package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the whole shim as a process, speaking the protocol over
// its real sockets, the way the host does.

func TestMain(m *testing.M) {
	testAppMain() // the stand-in apps of reload_test.go are this binary too
	if os.Getenv("SHIM_TEST_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

type shimProc struct {
	cmd    *exec.Cmd
	runDir string
	appDir string
	client *http.Client
	stderr *strings.Builder
	stdout *strings.Builder
}

func startShim(t *testing.T, env ...string) *shimProc {
	t.Helper()
	return startShimOut(t, &strings.Builder{}, &strings.Builder{}, env...)
}

// startShimOut starts the shim writing to stdout and stderr; given the same
// builder, its two streams share one pipe, in the order it writes them.
func startShimOut(t *testing.T, stdout, stderr *strings.Builder, env ...string) *shimProc {
	t.Helper()
	p := &shimProc{runDir: t.TempDir(), appDir: t.TempDir(), stderr: stderr, stdout: stdout}
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = append(append(os.Environ(), "SHIM_TEST_RUN_MAIN=1",
		"PREVIEW_RUN_DIR="+p.runDir, "PREVIEW_APP_DIR="+p.appDir, "TMPDIR="+t.TempDir()), env...)
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stdout
	// An app the shim started may outlive a killed shim with its output
	// pipes open; Wait then stops copying from them after this long.
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	sock := filepath.Join(p.runDir, "control.sock")
	p.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := p.client.Get("http://shim/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim not up after 10s; stderr: %s", p.stderr)
		}
	}
}

func (p *shimProc) do(t *testing.T, method, path string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://shim"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// exitCode waits for the shim and returns its exit code.
func (p *shimProc) exitCode(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatal("shim still running after 10s")
		return 0
	}
}

func TestShimRunsAppAndExitsWithItsCode(t *testing.T) {
	p := startShim(t)
	for _, name := range []string{"control.sock", "app.sock"} {
		fi, err := os.Stat(filepath.Join(p.runDir, name))
		if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o666 {
			t.Errorf("%s: %v, %v; want a 0666 socket", name, fi, err)
		}
	}

	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		_ = tw.WriteHeader(&tar.Header{Name: "run.sh", Typeflag: tar.TypeReg, Mode: 0o755, Size: 8})
		_, _ = tw.Write([]byte("exit 7\n\n"))
		pw.CloseWithError(tw.Close())
	}()
	if code, body := p.do(t, http.MethodPut, "/files", pr); code != http.StatusNoContent {
		t.Fatalf("PUT /files = %d %q", code, body)
	}
	// The app exits at once; its 204 must still arrive.
	if code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(`{"argv": ["sh", "run.sh"]}`)); code != http.StatusNoContent {
		t.Fatalf("POST /start = %d %q", code, body)
	}
	if code := p.exitCode(t); code != 7 {
		t.Errorf("shim exit code %d, want 7", code)
	}
}

func TestShimExecFailure(t *testing.T) {
	p := startShim(t)
	code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(`{"argv": ["no-such-binary"]}`))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "no-such-binary") {
		t.Errorf("POST /start = %d %q, want 422 naming the binary", code, body)
	}
	if code := p.exitCode(t); code != 127 {
		t.Errorf("shim exit code %d, want 127", code)
	}
	if !strings.Contains(p.stderr.String(), "previewshim: ") || !strings.Contains(p.stderr.String(), "no-such-binary") {
		t.Errorf("stderr %q does not report the failure", p.stderr)
	}
}

func TestShimSignals(t *testing.T) {
	t.Run("before start", func(t *testing.T) {
		p := startShim(t)
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.exitCode(t); code != 0 {
			t.Errorf("shim exit code %d, want 0", code)
		}
	})
	t.Run("forwarded", func(t *testing.T) {
		p := startShim(t)
		if code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(`{"argv": ["sleep", "30"]}`)); code != http.StatusNoContent {
			t.Fatalf("POST /start = %d %q", code, body)
		}
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		if code := p.exitCode(t); code != 128+int(syscall.SIGINT) {
			t.Errorf("shim exit code %d, want %d", code, 128+int(syscall.SIGINT))
		}
	})
}

func TestShimWarmStart(t *testing.T) {
	p := startShim(t)
	if code, body := p.do(t, http.MethodPost, "/load", strings.NewReader(`{}`)); code != http.StatusConflict {
		t.Errorf("POST /load before a warm start = %d %q, want 409", code, body)
	}
	// A stand-in preloader: reports ready on fd 3, then runs what its one
	// stdin line says (here it only records the line) and exits 5.
	preloader := `printf r >&3; exec 3>&-; read line; printf '%s' "$line" > loaded; exit 5`
	start, _ := json.Marshal(map[string]any{"argv": []string{"sh", "-c", preloader}, "warm": true})
	if code, body := p.do(t, http.MethodPost, "/start", bytes.NewReader(start)); code != http.StatusNoContent {
		t.Fatalf("POST /start warm = %d %q", code, body)
	}
	if code, body := p.do(t, http.MethodGet, "/warm", nil); code != http.StatusNoContent {
		t.Fatalf("GET /warm = %d %q", code, body)
	}
	load := "{\n  \"argv\": [\"python3\", \"-m\", \"uvicorn\"],\n  \"dir\": \"api\"\n}"
	if code, body := p.do(t, http.MethodPost, "/load", strings.NewReader(load)); code != http.StatusNoContent {
		t.Fatalf("POST /load = %d %q", code, body)
	}
	if code := p.exitCode(t); code != 5 {
		t.Errorf("shim exit code %d, want 5", code)
	}
	got, err := os.ReadFile(filepath.Join(p.appDir, "loaded"))
	if want := `{"argv":["python3","-m","uvicorn"],"dir":"api"}`; err != nil || string(got) != want {
		t.Errorf("the preloader read %q (%v), want the load request on one line %q", got, err, want)
	}
}

func TestShimWarmRefusals(t *testing.T) {
	t.Run("preloader dies before ready", func(t *testing.T) {
		p := startShim(t)
		start := `{"argv": ["sh", "-c", "sleep 0.2; exit 3"], "warm": true}`
		if code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(start)); code != http.StatusNoContent {
			t.Fatalf("POST /start warm = %d %q", code, body)
		}
		// The answer may also be a broken connection if the shim has
		// already exited; either way it is not a 204.
		req, _ := http.NewRequest(http.MethodGet, "http://shim/warm", nil)
		if resp, err := p.client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				t.Errorf("GET /warm = 204 for a preloader that never reported ready")
			}
		}
		if code := p.exitCode(t); code != 3 {
			t.Errorf("shim exit code %d, want 3", code)
		}
	})
	t.Run("cold child", func(t *testing.T) {
		p := startShim(t)
		if code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(`{"argv": ["sleep", "30"]}`)); code != http.StatusNoContent {
			t.Fatalf("POST /start = %d %q", code, body)
		}
		if code, _ := p.do(t, http.MethodGet, "/warm", nil); code != http.StatusConflict {
			t.Errorf("GET /warm of a cold child = %d, want 409", code)
		}
		if code, _ := p.do(t, http.MethodPost, "/load", strings.NewReader(`{}`)); code != http.StatusConflict {
			t.Errorf("POST /load to a cold child = %d, want 409", code)
		}
	})
	t.Run("second load and bad JSON", func(t *testing.T) {
		p := startShim(t)
		start := `{"argv": ["sh", "-c", "printf r >&3; exec 3>&-; read line; sleep 30"], "warm": true}`
		if code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(start)); code != http.StatusNoContent {
			t.Fatalf("POST /start warm = %d %q", code, body)
		}
		if code, _ := p.do(t, http.MethodPost, "/load", strings.NewReader(`{"argv"`)); code != http.StatusBadRequest {
			t.Errorf("POST /load with bad JSON = %d, want 400", code)
		}
		if code, body := p.do(t, http.MethodPost, "/load", strings.NewReader(`{"argv": ["x"]}`)); code != http.StatusNoContent {
			t.Fatalf("POST /load = %d %q", code, body)
		}
		if code, _ := p.do(t, http.MethodPost, "/load", strings.NewReader(`{"argv": ["x"]}`)); code != http.StatusConflict {
			t.Errorf("second POST /load = %d, want 409", code)
		}
	})
}

func TestShimPacesOutput(t *testing.T) {
	p := startShim(t, "PREVIEW_OUTPUT_LINES=1000")
	start := time.Now()
	app := `i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done; echo err >&2; exit 4`
	body, _ := json.Marshal(map[string]any{"argv": []string{"sh", "-c", app}})
	if code, msg := p.do(t, http.MethodPost, "/start", bytes.NewReader(body)); code != http.StatusNoContent {
		t.Fatalf("POST /start = %d %q", code, msg)
	}
	if code := p.exitCode(t); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
	// 3000 lines at 1000 a second with a burst of 1000: two seconds at least.
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Errorf("3000 lines took %s, want them paced to about 2 s", took)
	}
	if n := strings.Count(p.stdout.String(), "\n"); n != 3000 || !strings.HasSuffix(p.stdout.String(), "line 2999\n") {
		t.Errorf("stdout has %d lines, want all 3000 in order", n)
	}
	if !strings.Contains(p.stderr.String(), "slowed down") || !strings.Contains(p.stderr.String(), "err\n") {
		t.Errorf("stderr %q lacks the notice or the app's line", p.stderr)
	}
}
