package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantF    bool
		wantD    string
		wantH    []string
		wantFail bool
	}{
		{args: []string{"GEN"}, wantPos: []string{"GEN"}},
		{args: []string{"-f", "GEN"}, wantPos: []string{"GEN"}, wantF: true},
		{args: []string{"GEN", "-f"}, wantPos: []string{"GEN"}, wantF: true},
		{args: []string{"GEN", "POST", "/items", "-d", `{"a":1}`, "-H", "X-A: 1", "-H", "X-B: 2"},
			wantPos: []string{"GEN", "POST", "/items"}, wantD: `{"a":1}`, wantH: []string{"X-A", "X-B"}},
		{args: []string{"-d", "-", "GEN"}, wantPos: []string{"GEN"}, wantD: "-"},
		{args: []string{"GEN", "--", "-f", "x"}, wantPos: []string{"GEN", "-f", "x"}},
		{args: []string{"--", "-f"}, wantPos: []string{"-f"}},
		{args: []string{"GEN", "-nope"}, wantFail: true},
		{args: []string{"GEN", "-d"}, wantFail: true},
		{args: []string{"-H", "no colon", "GEN"}, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(nilWriter{})
			f := fs.Bool("f", false, "")
			d := fs.String("d", "", "")
			var h headerFlag
			fs.Var(&h, "H", "")
			pos, err := parseInterspersed(fs, tt.args)
			if tt.wantFail {
				if err == nil {
					t.Fatalf("want an error, got %q", pos)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tt.wantPos) || *f != tt.wantF || *d != tt.wantD {
				t.Errorf("got pos %q f=%v d=%q", pos, *f, *d)
			}
			for _, k := range tt.wantH {
				if _, ok := h.h[k]; !ok {
					t.Errorf("header %s missing from %v", k, h.h)
				}
			}
		})
	}
}

type nilWriter struct{}

func (nilWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestEnvFlag(t *testing.T) {
	var e envFlag
	for _, v := range []string{"A=1", "B=x=y", "C="} {
		if err := e.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if e.m["A"] != "1" || e.m["B"] != "x=y" || e.m["C"] != "" {
		t.Errorf("got %v", e.m)
	}
	for _, bad := range []string{"A", "=1"} {
		if err := e.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCommandLine checks usage errors, help and the global flags without a
// server: nothing here gets as far as a request.
func TestCommandLine(t *testing.T) {
	env := map[string]string{"PREVIEW_TOKEN": "tok", "PREVIEW_URL": "http://127.0.0.1:1"}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no command", env, nil, exitUsage, "", "usage: previewctl"},
		{"help", env, []string{"help"}, exitOK, "exit codes:", ""},
		{"-h", env, []string{"-h"}, exitOK, "commands:", ""},
		{"command help", env, []string{"logs", "-h"}, exitOK, "usage: previewctl logs [-f] GEN", ""},
		{"unknown command", env, []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"unknown flag", env, []string{"status", "-x", "GEN"}, exitUsage, "", "flag provided but not defined: -x"},
		{"missing argument", env, []string{"status"}, exitUsage, "", "status: missing arguments"},
		{"too many arguments", env, []string{"status", "a", "b"}, exitUsage, "", "too many arguments: b"},
		{"request needs three", env, []string{"request", "GEN", "GET"}, exitUsage, "", "missing arguments"},
		{"bad url", env, []string{"-url", "ftp://x", "ls"}, exitUsage, "", "not an http:// or https:// URL"},
		{"no token", map[string]string{}, []string{"ls"}, exitAuth, "", "no bearer token: pass -token or set PREVIEW_TOKEN"},
		{"up has no json", env, []string{"up", "-json", "."}, exitUsage, "", "up is interactive"},
		{"negative ttl", env, []string{"launch", "-ttl", "-1s", "GEN"}, exitUsage, "", "must not be negative"},
		{"unreachable names the URL", env, []string{"status", "GEN"}, exitUnavailable, "",
			"cannot reach previewd at http://127.0.0.1:1 (connection refused)"},
		{"global flags after the command", map[string]string{}, []string{"status", "GEN", "-token", "t", "-url", "http://127.0.0.1:1"},
			exitUnavailable, "", "cannot reach previewd at http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(context.Background(), tt.env, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			mustContain(t, "stdout", out, tt.wantOut)
			mustContain(t, "stderr", errOut, tt.wantErr)
		})
	}
}

func TestExitCode(t *testing.T) {
	one := 1
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errHelp, exitOK},
		{usageErrorf("bad"), exitUsage},
		{&apiError{Status: 404, Code: "not_found"}, exitNotFound},
		{&apiError{Status: 401, Code: "unauthorized"}, exitAuth},
		{&apiError{Status: 403, Code: "forbidden"}, exitAuth},
		{&apiError{Status: 503, Code: "capacity_exhausted"}, exitUnavailable},
		{&apiError{Status: 503, Code: "unavailable"}, exitUnavailable},
		{&apiError{Status: 422, Code: "launch_failed", ExitCode: &one}, exitLaunch},
		{&apiError{Status: 422, Code: "invalid_request"}, exitError},
		{&apiError{Status: 409, Code: "preview_not_running"}, exitError},
		{&apiError{Status: 413, Code: "payload_too_large"}, exitError},
		{&apiError{Status: 502, Code: "upstream_error"}, exitError},
		{&apiError{Status: 500, Code: "internal"}, exitError},
		{&unreachableError{url: "http://x", err: errors.New("refused")}, exitUnavailable},
		{context.Canceled, exitInterrupted},
		{errors.New("anything"), exitError},
		// Wrapping keeps the kind.
		{inStep("launch", &apiError{Status: 422, Code: "launch_failed"}), exitLaunch},
		{fmt.Errorf("x: %w", &apiError{Status: 404}), exitNotFound},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		step string
		err  error
		want string
	}{
		{"status", &apiError{Status: 404, Code: "not_found", Message: "generation not found"}, "status failed: generation not found"},
		{"ls", &apiError{Status: 401, Code: "unauthorized", Message: "a valid bearer token is required"},
			"ls failed: a valid bearer token is required (check -token or PREVIEW_TOKEN)"},
		{"up", inStep("launch", &apiError{Status: 422, Code: "launch_failed", Message: "the app exited with code 1"}),
			"launch failed: the app exited with code 1"},
		{"endpoints", &apiError{Status: 404, Code: "not_found", Message: "no such endpoint"},
			"endpoints failed: this previewd does not serve that API route"},
		{"ls", &apiError{Status: 500, Code: "internal", Message: "internal error", RequestID: "r1"},
			"ls failed: previewd had an internal error (request id r1)"},
		{"launch", &apiError{Status: 422, Code: "launch_failed", Message: "the app exited", OOMKilled: true},
			"launch failed: the app exited (killed: out of memory)"},
		{"ls", &apiError{Status: 502}, "ls failed: previewd answered 502 Bad Gateway"},
		{"ls", &unreachableError{url: "http://h:1", err: errors.New("dial tcp: refused")},
			"cannot reach previewd at http://h:1 (dial tcp: refused); is it running? Set -url or PREVIEW_URL"},
		{"logs", context.Canceled, "logs: interrupted"},
	}
	for _, tt := range tests {
		if got := describe(tt.step, tt.err); !strings.HasPrefix(got, tt.want) {
			t.Errorf("describe(%q, %v) = %q, want %q", tt.step, tt.err, got, tt.want)
		}
	}
}

func TestReadAPIErrorNotJSON(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/status", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway from the proxy in front", http.StatusBadGateway)
	})
	code, _, errOut := f.run(context.Background(), "status", "g1")
	if code != exitError {
		t.Errorf("exit code %d", code)
	}
	mustContain(t, "stderr", errOut, "status failed: previewd answered 502 Bad Gateway: bad gateway from the proxy in front")
}
