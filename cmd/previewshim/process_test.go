package main

import (
	"archive/tar"
	"context"
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
}

func startShim(t *testing.T) *shimProc {
	t.Helper()
	p := &shimProc{runDir: t.TempDir(), appDir: t.TempDir(), stderr: &strings.Builder{}}
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = append(os.Environ(), "SHIM_TEST_RUN_MAIN=1",
		"PREVIEW_RUN_DIR="+p.runDir, "PREVIEW_APP_DIR="+p.appDir)
	p.cmd.Stderr = p.stderr
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
