package sandbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestAllowProxy: the install's proxy forwards plain-HTTP requests and
// CONNECT tunnels to the allowed package source only; every other
// destination (another port of the same host, the bridge gateway, the
// metadata address) is refused with 403 without being dialled.
func TestAllowProxy(t *testing.T) {
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "index at "+r.URL.Path)
	}))
	defer index.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the proxy reached a host that is not allowed: %s", r.URL)
	}))
	defer other.Close()

	allowed, err := proxyAllowList([]string{index.URL + "/simple/"})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	p, err := startAllowProxy(sock, allowed)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	viaProxy := &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy"}),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}

	get := func(u string) (int, string) {
		resp, err := viaProxy.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(index.URL + "/simple/x/"); code != 200 || body != "index at /simple/x/" {
		t.Errorf("allowed GET: %d %q", code, body)
	}
	for _, u := range []string{other.URL + "/", "http://172.17.0.1:8080/", "http://169.254.169.254/latest/meta-data/"} {
		if code, _ := get(u); code != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", u, code)
		}
	}

	connect := func(target string) (int, *bufio.Reader, net.Conn) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			t.Fatalf("CONNECT %s: %v", target, err)
		}
		return resp.StatusCode, br, c
	}
	for _, target := range []string{other.Listener.Addr().String(), "169.254.169.254:80", "172.17.0.1:443", "pypi.org:443"} {
		code, _, c := connect(target)
		c.Close()
		if code != http.StatusForbidden {
			t.Errorf("CONNECT %s: %d, want 403", target, code)
		}
	}
	code, br, c := connect(index.Listener.Addr().String())
	defer c.Close()
	if code != 200 {
		t.Fatalf("CONNECT to the index: %d", code)
	}
	fmt.Fprintf(c, "GET /tunnelled HTTP/1.1\r\nHost: index\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "index at /tunnelled") {
		t.Errorf("through the tunnel: %q", b)
	}
}

func TestProxyAllowList(t *testing.T) {
	got, err := proxyAllowList([]string{"https://pypi.org/simple", "https://files.pythonhosted.org", "http://127.0.0.1:3141/root/pypi/", "https://Registry.NPMjs.org:8443/"})
	want := []string{"pypi.org:443", "files.pythonhosted.org:443", "127.0.0.1:3141", "registry.npmjs.org:8443"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("proxyAllowList = %v, %v; want %v", got, err, want)
	}
	if _, err := proxyAllowList([]string{"pypi.org"}); err == nil {
		t.Errorf("a source without a scheme was taken")
	}
}
