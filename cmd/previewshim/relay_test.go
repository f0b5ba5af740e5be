package main

import (
	"io"
	"net"
	"path/filepath"
	"slices"
	"testing"
)

// Captured from a container running node on :3000 and python on :8000,
// with one established connection that must not count.
const procNetTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 1235 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F40 0100007F:D431 01 00000000:00000000 00:00000000 00000000 10001        0 1236 1 0000000000000000 20 4 30 10 -1
`

const procNetTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1388 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 2234 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:C350 00000000000000000000000001000000:1388 06 00000000:00000000 03:00000F3A 00000000     0        0 0 3 0000000000000000
`

func TestParseListenPorts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []int
	}{
		{"tcp", procNetTCP, []int{8000, 3000}},
		{"tcp6", procNetTCP6, []int{5000}},
		{"header only", "  sl  local_address rem_address   st\n", nil},
		{"empty", "", nil},
		{"garbage", "header\nnot a socket line\n 0: nocolon 0 0A\n 1: 0:ZZZZ 0 0A\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseListenPorts([]byte(tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseListenPorts = %v, want %v", got, tt.want)
			}
		})
	}
}

// startApp runs a one-connection app on loopback that reads the whole
// request, which it only can if the client's half-close reached it, then
// answers and closes.
func startApp(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, _ := io.ReadAll(c)
		_, _ = c.Write(append([]byte("got "), req...))
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// freePort returns a loopback port that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// dialRelay serves r on a fresh app.sock and connects to it.
func dialRelay(t *testing.T, r *relayer) *net.UnixConn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "app.sock")
	ln, err := listenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go r.serve(ln)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UnixConn)
}

func TestRelay(t *testing.T) {
	tests := []struct {
		name      string
		preferred func(t *testing.T, app int) int
		fallback  func(app int) []int
	}{
		{"preferred port", func(_ *testing.T, app int) int { return app }, func(int) []int { return nil }},
		{"fallback port", func(t *testing.T, _ int) int { return freePort(t) }, func(app int) []int {
			// The lower free port stands for a listener 127.0.0.1 cannot reach.
			return []int{1, app}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := startApp(t)
			r := newRelayer(tt.preferred(t, app), func() ([]int, error) { return tt.fallback(app), nil })
			c := dialRelay(t, r)
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			resp, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(resp) != "got hello" {
				t.Errorf("response %q, want %q", resp, "got hello")
			}
		})
	}
}

func TestRelayClosesWhenNothingListens(t *testing.T) {
	r := newRelayer(freePort(t), func() ([]int, error) { return nil, nil })
	c := dialRelay(t, r)
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err != io.EOF {
		t.Errorf("Read = %d, %v; want 0, EOF", n, err)
	}
}
