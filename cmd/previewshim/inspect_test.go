package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseListenSockets(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []socket
	}{
		{"tcp", procNetTCP, []socket{{"0.0.0.0", 8000}, {"127.0.0.1", 3000}}},
		{"tcp6 wildcard", procNetTCP6, []socket{{"::", 5000}}},
		{"tcp6 loopback", `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:1F40 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 77 1
`, []socket{{"::1", 8000}}},
		{"tcp6 IPv4-mapped", `  sl  local_address                         remote_address                        st
   0: 0000000000000000FFFF00000100007F:1388 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 78 1
`, []socket{{"127.0.0.1", 5000}}},
		{"reuseport workers share one address", `  sl  local_address rem_address   st
   0: 00000000:1F40 00000000:0000 0A
   1: 00000000:1F40 00000000:0000 0A
`, []socket{{"0.0.0.0", 8000}}},
		{"established only", `  sl  local_address rem_address   st
   0: 0100007F:1F40 0100007F:D431 01
`, nil},
		{"header only", "  sl  local_address rem_address   st\n", nil},
		{"empty", "", nil},
		{"garbage", "header\nnot a socket line\n 0: nocolon 0 0A\n 1: 0:ZZZZ 0 0A\n 2: 0100:1F40 0 0A\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseListenSockets([]byte(tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseListenSockets = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPidsDirs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"v1 docker", "12:pids:/docker/abc\n11:memory:/docker/abc\n0::/\n", []string{"/cg/pids/docker/abc", "/cg/pids", "/cg", "/cg"}},
		{"v1 joined controllers", "4:cpu,pids:/docker/abc\n", []string{"/cg/pids/docker/abc", "/cg/pids"}},
		{"v2 namespaced", "0::/\n", []string{"/cg", "/cg"}},
		{"v2 host namespace", "0::/system.slice/docker-abc.scope\n", []string{"/cg/system.slice/docker-abc.scope", "/cg"}},
		{"none", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pidsDirs("/cg", []byte(tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("pidsDirs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadPidsDir(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    pidsUsage
		wantErr bool
	}{
		{"capped and refused", map[string]string{"pids.max": "64\n", "pids.current": "64\n", "pids.events": "max 17\n"}, pidsUsage{Max: 64, Current: 64, Refused: 17}, false},
		{"no cap", map[string]string{"pids.max": "max\n", "pids.current": "3\n", "pids.events": "max 0\n"}, pidsUsage{Current: 3}, false},
		{"old kernel without events", map[string]string{"pids.max": "128\n", "pids.current": "5\n"}, pidsUsage{Max: 128, Current: 5}, false},
		{"no current", map[string]string{"pids.max": "128\n"}, pidsUsage{}, true},
		{"bad current", map[string]string{"pids.current": "lots\n"}, pidsUsage{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readPidsDir(dir)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("readPidsDir = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
