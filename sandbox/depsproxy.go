package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// A dependency install runs with no network at all. The one way out is an
// HTTP forward proxy that previewd runs for that install on a unix socket
// mounted into the build container: it forwards plain-HTTP requests with an
// absolute URI and tunnels CONNECT, and only to the host:port pairs of the
// configured package index or registry. Every other destination (the host,
// the bridge gateway, the cloud metadata address, other containers, the
// rest of the internet) gets 403.

// proxyDialTimeout bounds the proxy's connection to an allowed host: below
// the installers' own 5 s read timeout, so that they get the proxy's 502
// (and previewd learns the source was unreachable) rather than time out.
const proxyDialTimeout = 4 * time.Second

// allowProxy is one install's forward proxy.
type allowProxy struct {
	allowed map[string]bool // "host:port", host lowercased
	ln      net.Listener
	srv     *http.Server
	dialer  net.Dialer
	rp      *httputil.ReverseProxy

	mu          sync.Mutex
	tunnels     map[net.Conn]bool // hijacked CONNECT connections, both ends
	unreachable bool              // a connection to an allowed source failed
	wg          sync.WaitGroup
}

// startAllowProxy listens on the unix socket path (mode 0666, so that the
// build's uid can connect) and serves until close.
func startAllowProxy(path string, allowed []string) (*allowProxy, error) {
	p := &allowProxy{allowed: map[string]bool{}, tunnels: map[net.Conn]bool{}, dialer: net.Dialer{Timeout: proxyDialTimeout}}
	for _, a := range allowed {
		p.allowed[strings.ToLower(a)] = true
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen for the install's proxy: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen for the install's proxy: %w", err)
	}
	p.ln = ln
	p.rp = &httputil.ReverseProxy{
		// The request's absolute URI already names the destination, which
		// ServeHTTP has checked.
		Rewrite: func(pr *httputil.ProxyRequest) { pr.Out.Host = pr.In.Host },
		Transport: &http.Transport{
			Proxy:                 nil, // never through another proxy of previewd's environment
			DialContext:           p.dialAllowed,
			ResponseHeaderTimeout: time.Minute,
			IdleConnTimeout:       30 * time.Second,
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.srv.Serve(ln) // ends when close closes the server
	}()
	return p, nil
}

// allowedAddr returns the request's destination as "host:port" and whether
// the allow-list has it; a missing port is scheme's default.
func (p *allowProxy) allowedAddr(hostport, scheme string) (string, bool) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "80"
		if scheme == "https" || scheme == "connect" {
			port = "443"
		}
	}
	if host == "" {
		return "", false
	}
	addr := net.JoinHostPort(strings.ToLower(host), port)
	return addr, p.allowed[addr]
}

// dialAllowed dials only allowed destinations: the Transport may otherwise
// be led elsewhere, by a redirect for instance.
func (p *allowProxy) dialAllowed(ctx context.Context, network, addr string) (net.Conn, error) {
	if _, ok := p.allowedAddr(addr, ""); !ok {
		return nil, fmt.Errorf("%s is not an allowed package source", addr)
	}
	return p.dialUpstream(ctx, network, addr)
}

// dialUpstream dials an allowed source and records a failure.
func (p *allowProxy) dialUpstream(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := p.dialer.DialContext(ctx, network, addr)
	if err != nil && ctx.Err() == nil {
		p.mu.Lock()
		p.unreachable = true
		p.mu.Unlock()
	}
	return c, err
}

// sourceUnreachable reports whether a connection to an allowed source
// failed: the installers do not always say so (pip, without retries, only
// says it found no version).
func (p *allowProxy) sourceUnreachable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unreachable
}

func (p *allowProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "proxy: only absolute http:// requests and CONNECT are forwarded", http.StatusBadRequest)
		return
	}
	if addr, ok := p.allowedAddr(r.URL.Host, r.URL.Scheme); !ok {
		http.Error(w, "proxy: "+addr+" is not an allowed package source", http.StatusForbidden)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// connect tunnels to an allowed host:port.
func (p *allowProxy) connect(w http.ResponseWriter, r *http.Request) {
	addr, ok := p.allowedAddr(r.Host, "connect")
	if !ok {
		http.Error(w, "proxy: "+addr+" is not an allowed package source", http.StatusForbidden)
		return
	}
	upstream, err := p.dialUpstream(r.Context(), "tcp", addr)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	client, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if !p.track(client, upstream) {
		client.Close()
		upstream.Close()
		return
	}
	defer p.untrack(client, upstream)
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Bytes the client sent after the CONNECT line are in buf already.
		io.Copy(upstream, buf)
		closeWrite(upstream)
	}()
	io.Copy(client, upstream)
	closeWrite(client)
	<-done
}

// track registers a tunnel's connections so that close can break them; it
// is false once the proxy is closing.
func (p *allowProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tunnels == nil {
		return false
	}
	for _, c := range conns {
		p.tunnels[c] = true
	}
	return true
}

func (p *allowProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		c.Close()
		delete(p.tunnels, c)
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// close stops the proxy and breaks its open connections and tunnels.
func (p *allowProxy) close() error {
	err := p.srv.Close()
	p.mu.Lock()
	for c := range p.tunnels {
		c.Close()
	}
	p.tunnels = nil
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// proxyAllowList is the "host:port" of each package source URL, with the
// default port of its scheme when it names none; a bad URL is an error.
func proxyAllowList(sources []string) ([]string, error) {
	var out []string
	for _, s := range sources {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("package source %q is not an http(s) URL", s)
		}
		port := u.Port()
		if port == "" {
			port = "80"
			if u.Scheme == "https" {
				port = "443"
			}
		}
		out = append(out, net.JoinHostPort(strings.ToLower(u.Hostname()), port))
	}
	return out, nil
}
