package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reportTestRoutes is the stand-in app "report-routes": it reports a table
// as the runtime images' hooks do, first as a child that does not exist
// and as a malformed report, which the shim must not keep.
func reportTestRoutes() {
	addr, id, _ := strings.Cut(os.Getenv("PREVIEWD_ROUTES"), ":")
	send := func(body string) {
		conn, err := net.Dial("unix", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_, _ = conn.Write([]byte(body))
		conn.Close()
	}
	send(`{"child": 999, "framework": "flask", "routes": [{"method": "GET", "path": "/other"}]}`)
	send(`{"child": ` + id + `, "framework": "flask", "routes": [{"method": "GET", "path": "no-slash"}]}`)
	time.Sleep(50 * time.Millisecond)
	send(`{"child": ` + id + `, "framework": "flask", "routes": [{"method": "GET", "path": "/items/{id}"}, {"method": "ALL", "path": "/any"}]}`)
}

func TestRoutesServesTheCurrentChildsReport(t *testing.T) {
	p := startShim(t)
	if code, body := p.do(t, http.MethodGet, "/routes", nil); code != http.StatusNotFound {
		t.Fatalf("GET /routes before start: %d %s, want 404", code, body)
	}
	start, _ := json.Marshal(map[string]any{"argv": []string{os.Args[0]}, "env": []string{"SHIM_TEST_APP=report-routes"}})
	if code, body := p.do(t, http.MethodPost, "/start", strings.NewReader(string(start))); code != http.StatusNoContent {
		t.Fatalf("start: %d %s", code, body)
	}
	// The shim's stderr is read once it has ended, stopping the app: until
	// then the copy into the builder runs.
	stderr := func() string {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
		return p.stderr.String()
	}
	var code int
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if code, body = p.do(t, http.MethodGet, "/routes", nil); code == http.StatusOK {
			break
		}
	}
	if code != http.StatusOK {
		t.Fatalf("GET /routes: %d %s; shim stderr: %s", code, body, stderr())
	}
	var tab routeTable
	if err := json.Unmarshal([]byte(body), &tab); err != nil {
		t.Fatal(err)
	}
	want := []routeRow{{"GET", "/items/{id}"}, {"ALL", "/any"}}
	if tab.Framework != "flask" || fmt.Sprint(tab.Routes) != fmt.Sprint(want) {
		t.Fatalf("table %+v, want flask %v", tab, want)
	}
	if out := stderr(); !strings.Contains(out, `bad route "GET" "no-slash"`) {
		t.Errorf("the malformed report is not logged; stderr: %s", out)
	}
}

func TestParseRouteReport(t *testing.T) {
	for _, tc := range []struct {
		body, err string
	}{
		{`{"child": 1, "framework": "express", "routes": []}`, ""},
		{`{"child": 1, "routes": [{"method": "GET", "path": "/a"}]}`, ""},
		{`{"child": 1, "routes": [{"method": "", "path": "/a"}]}`, "bad route"},
		{`{"child": 1, "routes": [{"method": "G ET", "path": "/a"}]}`, "bad route"},
		{`{"child": 1, "routes": [{"method": "GET", "path": "a"}]}`, "bad route"},
		{`{"child": 1, "routes": [`, "decode"},
	} {
		_, err := parseRouteReport([]byte(tc.body))
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("parseRouteReport(%s) = %v, want error %q", tc.body, err, tc.err)
		}
	}
}
