package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/previewd/previewd/db/localpg"
	"github.com/previewd/previewd/sandbox"
	dockerbackend "github.com/previewd/previewd/sandbox/docker"
)

// The runtime images, as make images builds them; PREVIEW_IMAGE_TAG picks
// images built with that tag instead of :latest.
var (
	pythonImage = "previewd/runtime-python:" + imageTag()
	nodeImage   = "previewd/runtime-node:" + imageTag()
)

const e2eSecret = "previewctl-e2e-secret-0123456789"

func imageTag() string {
	if tag := os.Getenv("PREVIEW_IMAGE_TAG"); tag != "" {
		return tag
	}
	return "latest"
}

// requireDocker skips (fails in CI) when there is no Docker engine with the
// runtime images, as server/harness_test.go's requireInfra does.
func requireDocker(t *testing.T) *dockerbackend.Backend {
	t.Helper()
	fail := skipOrFail(t)
	d, err := dockerbackend.New(dockerbackend.Config{})
	if err == nil {
		err = d.Ping(context.Background())
	}
	if err != nil {
		fail("no Docker engine for the end-to-end test: %v", err)
	}
	for _, img := range []string{pythonImage, nodeImage} {
		if _, err := d.ImageID(context.Background(), img); err != nil {
			fail("runtime image %s missing (run make images): %v", img, err)
		}
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func skipOrFail(t *testing.T) func(string, ...any) {
	if os.Getenv("CI") != "" {
		return t.Fatalf
	}
	return t.Skipf
}

// previewd is a real previewd process for the test.
type previewd struct {
	url    string
	runner string
	token  string
}

// startPreviewd builds cmd/previewd, starts it on a throwaway PostgreSQL and
// stops it, and removes its containers, when the test ends.
func startPreviewd(t *testing.T) *previewd {
	t.Helper()
	docker := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	pgDir, err := os.MkdirTemp("", "previewctl-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := localpg.Start(ctx, localpg.Options{Dir: pgDir, Throwaway: true})
	if err != nil {
		os.RemoveAll(pgDir)
		skipOrFail(t)("no PostgreSQL for the end-to-end test: %v", err)
	}
	t.Cleanup(func() { pg.Stop() })
	dbURL, err := pg.CreateDatabase(ctx, "previewctl")
	if err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "previewd")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/previewd")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/previewd: %v\n%s", err, out)
	}

	// The shim's socket paths below the run directory must fit in 107 bytes.
	runDir, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) })
	listen := freePorts(t, 1)
	ports := freePorts(t, 4)
	p := &previewd{url: fmt.Sprintf("http://127.0.0.1:%d", listen), runner: fmt.Sprintf("previewctl-test-%d", time.Now().UnixNano())}
	logFile, err := os.Create(filepath.Join(t.TempDir(), "previewd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"PREVIEW_JWT_SECRET="+e2eSecret,
		"PREVIEW_LISTEN_ADDR="+fmt.Sprintf("127.0.0.1:%d", listen),
		fmt.Sprintf("PREVIEW_PORT_RANGE=%d-%d", ports, ports+3),
		"PREVIEW_RUN_DIR="+runDir,
		"PREVIEW_RUNNER_ID="+p.runner,
		"PREVIEW_START_TIMEOUT=60s",
		"PREVIEW_STOP_GRACE=1s",
		"PREVIEW_LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() // ends when previewd exits
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		removeContainers(docker, p.runner)
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("previewd log:\n%s", b)
			}
		}
	})

	// Ready means PostgreSQL and Docker are reachable.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("previewd exited at start:\n%s", b)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("previewd not ready after 60s")
		}
	}

	// A dev token, minted as cmd/previewdev does.
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "previewctl-e2e", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(e2eSecret))
	if err != nil {
		t.Fatal(err)
	}
	p.token = tok
	return p
}

// removeContainers removes whatever the test's previewd left behind.
func removeContainers(d *dockerbackend.Backend, runner string) {
	ctx := context.Background()
	list, err := d.Managed(ctx)
	if err != nil {
		return
	}
	for _, c := range list {
		if c.Labels[sandbox.LabelRunner] == runner {
			d.Teardown(ctx, c.ID, 0)
		}
	}
}

// freePorts returns the first of n consecutive free ports.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for start := 20000 + int(time.Now().UnixNano()%30000); start < 60000; start += n + 7 {
		ok := true
		for p := start; p < start+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return start
		}
	}
	t.Fatal("no free ports")
	return 0
}

// cli runs previewctl against p.
func (p *previewd) cli(ctx context.Context, args ...string) (int, string, string) {
	return runCLI(ctx, envMap{"PREVIEW_URL": p.url, "PREVIEW_TOKEN": p.token}, args...)
}

func (p *previewd) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	start := time.Now()
	code, out, errOut := p.cli(context.Background(), args...)
	t.Logf("previewctl %s: exit %d in %v", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	if code != exitOK {
		t.Fatalf("previewctl %s: exit code %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (p *previewd) statusOf(t *testing.T, gen string) string {
	t.Helper()
	var s previewStatus
	if err := json.Unmarshal([]byte(p.mustRun(t, "status", "-json", gen)), &s); err != nil {
		t.Fatal(err)
	}
	return s.Status
}

// TestEndToEnd drives a real previewd, with real containers, through every
// command.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	p := startPreviewd(t)
	samples := filepath.Join("..", "..", "testdata", "samples")

	// up: upload, launch, URLs, log; Ctrl-C stops the preview.
	upCtx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var upOut, upErr syncBuffer
	upDone := make(chan int, 1)
	upStart := time.Now()
	go func() {
		a := &app{stdout: &upOut, stderr: &upErr, getenv: envMap{"PREVIEW_URL": p.url, "PREVIEW_TOKEN": p.token}.get}
		upDone <- a.main(upCtx, []string{"up", filepath.Join(samples, "fastapi")})
	}()
	appURL := waitMatch(t, &upOut, &upErr, upDone, regexp.MustCompile(`App:\s+(http://\S+)`))
	waitMatch(t, &upOut, &upErr, upDone, regexp.MustCompile(`(?m)^(stdout|stderr) \| .+`))
	t.Logf("up: running with a log line after %v", time.Since(upStart).Round(time.Millisecond))
	gen := regexp.MustCompile(`Generation (\S+)`).FindStringSubmatch(upOut.String())[1]
	mustContain(t, "up output", upOut.String(), "Browser:  http://", "?token=", "is running (launched in")
	if _, body := httpGet(t, appURL); !strings.Contains(body, "hello from fastapi") {
		t.Errorf("%s answered %q", appURL, body)
	}
	browserURL := regexp.MustCompile(`Browser:\s+(\S+)`).FindStringSubmatch(upOut.String())[1]
	if body := p.browse(t, browserURL); !strings.Contains(body, "hello from fastapi") {
		t.Errorf("%s answered %q", browserURL, body)
	}

	// While up follows the log, the other commands see the preview.
	out := p.mustRun(t, "status", gen)
	mustContain(t, "status", out, "running (healthy)", "App URL", "Memory", "Restarts")
	out = p.mustRun(t, "ls")
	if !regexp.MustCompile(gen + `\s+fastapi\s+fastapi\s+\d+\s+.*running on :\d+`).MatchString(out) {
		t.Errorf("ls:\n%s", out)
	}
	out = p.mustRun(t, "logs", gen)
	mustContain(t, "logs", out, "system | starting (fastapi)", "system | healthy")
	out = p.mustRun(t, "request", gen, "GET", "/api/items/1")
	mustContain(t, "request", out, "200 OK", "Content-Type: application/json", `"id": 1`)
	code, out, errOut := p.cli(context.Background(), "endpoints", gen)
	switch {
	case code == exitOK:
		if !regexp.MustCompile(`GET\s+/api/items/\{item_id\}`).MatchString(out) {
			t.Errorf("endpoints:\n%s", out)
		}
	case code == exitNotFound && strings.Contains(errOut, "previewctl: endpoints failed: "):
		t.Logf("endpoints not served yet: %s", strings.TrimSpace(errOut))
	default:
		t.Errorf("endpoints: exit code %d\n%s%s", code, out, errOut)
	}
	followCtx, stopFollow := context.WithTimeout(context.Background(), 2*time.Second)
	code, out, _ = p.cli(followCtx, "logs", "-f", gen)
	stopFollow()
	if code != exitOK || !strings.Contains(out, "system | healthy") {
		t.Errorf("logs -f: exit code %d\n%s", code, out)
	}

	interrupt() // Ctrl-C
	select {
	case code := <-upDone:
		if code != exitOK {
			t.Errorf("up: exit code %d\n%s", code, upErr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("up did not return after Ctrl-C")
	}
	mustContain(t, "up output", upOut.String(), "Stopping preview", "stopped.")
	t.Logf("up:\n%s", upOut.String())
	if s := p.statusOf(t, gen); s != "stopped" {
		t.Errorf("after Ctrl-C the preview is %s", s)
	}

	// launch and down.
	out = p.mustRun(t, "launch", gen)
	mustContain(t, "launch", out, "is running", "App:")
	out = p.mustRun(t, "down", gen)
	mustContain(t, "down", out, "is stopped.")
	p.mustRun(t, "down", gen) // idempotent

	// A crashing app: exit code 6 and its output.
	code, out, errOut = p.cli(context.Background(), "up", filepath.Join(samples, "crash"))
	if code != exitLaunch {
		t.Errorf("up crash: exit code %d, want %d\n%s%s", code, exitLaunch, out, errOut)
	}
	mustContain(t, "up crash stderr", errOut, "previewctl: launch failed: the app exited")
	mustContain(t, "up crash output", out+errOut, "boom on import")
	crash := strings.TrimSpace(p.mustRun(t, "push", "-name", "crash", filepath.Join(samples, "crash")))
	code, out, errOut = p.cli(context.Background(), "launch", crash)
	if code != exitLaunch {
		t.Errorf("launch crash: exit code %d, want %d\n%s%s", code, exitLaunch, out, errOut)
	}
	mustContain(t, "launch crash stderr", errOut, "previewctl: launch failed: the app exited", "lines of the app's output:", "RuntimeError: boom on import")

	// rm, and the errors scripts rely on.
	p.mustRun(t, "rm", crash)
	if code, _, errOut := p.cli(context.Background(), "status", crash); code != exitNotFound || !strings.Contains(errOut, "generation not found") {
		t.Errorf("status of a deleted generation: exit code %d: %s", code, errOut)
	}
	if code, _, errOut := p.cli(context.Background(), "ls", "-token", "not-a-jwt"); code != exitAuth {
		t.Errorf("bad token: exit code %d: %s", code, errOut)
	}
}

// waitMatch waits until out matches re and returns its first group; it fails
// when the command exits first.
func waitMatch(t *testing.T, out, errOut *syncBuffer, done chan int, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			if len(m) > 1 {
				return m[1]
			}
			return m[0]
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("command exited with %d before printing %s\nstdout:\n%s\nstderr:\n%s", code, re, out.String(), errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in:\n%s\nstderr:\n%s", re, out.String(), errOut.String())
		}
	}
}

// browse opens url as a browser would: *.localhost names reach previewd,
// cookies are kept and redirects followed.
func (p *previewd) browse(t *testing.T, url string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	addr := strings.TrimPrefix(p.url, "http://")
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(resp.Request.URL.RawQuery, "token=") {
		t.Errorf("the token stayed in the address: %s", resp.Request.URL)
	}
	return string(b)
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
