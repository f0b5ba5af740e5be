package sandbox

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// ErrNoPort means every port of the pool is in use.
var ErrNoPort = errors.New("no free port in the preview port range")

// PortPool hands out host ports from a fixed range. A port is reserved by
// listening on it, so a port that another program on the host already holds is
// skipped, and a reserved port cannot be taken by anyone else until released.
type PortPool struct {
	host       string
	start, end int

	mu   sync.Mutex
	used map[int]bool
	next int // where the next search starts, so freed ports cool down before reuse
}

// NewPortPool returns a pool of the ports start..end (inclusive) on host.
func NewPortPool(host string, start, end int) (*PortPool, error) {
	if start < 1 || end > 65535 || start > end {
		return nil, fmt.Errorf("invalid port range %d-%d", start, end)
	}
	return &PortPool{host: host, start: start, end: end, used: map[int]bool{}, next: start}, nil
}

// Range returns the first and last port of the pool.
func (p *PortPool) Range() (start, end int) { return p.start, p.end }

// Size is the number of ports in the pool.
func (p *PortPool) Size() int { return p.end - p.start + 1 }

// InUse is the number of ports reserved now.
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}

// Reserve takes a free port and returns the listener that holds it.
func (p *PortPool) Reserve() (*net.TCPListener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.Size()
	for i := 0; i < n; i++ {
		port := p.start + (p.next-p.start+i)%n
		if p.used[port] {
			continue
		}
		l, err := p.listen(port)
		if err != nil {
			continue // held by another program on the host
		}
		p.used[port] = true
		p.next = port + 1
		if p.next > p.end {
			p.next = p.start
		}
		return l, nil
	}
	return nil, ErrNoPort
}

// ReservePort takes one given port, for adopting a preview that already owns it.
func (p *PortPool) ReservePort(port int) (*net.TCPListener, error) {
	if port < p.start || port > p.end {
		return nil, fmt.Errorf("port %d is outside the pool %d-%d", port, p.start, p.end)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used[port] {
		return nil, fmt.Errorf("port %d is already reserved", port)
	}
	l, err := p.listen(port)
	if err != nil {
		return nil, err
	}
	p.used[port] = true
	return l, nil
}

// Release returns a port to the pool. Releasing a free port does nothing.
func (p *PortPool) Release(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.used, port)
}

func (p *PortPool) listen(port int) (*net.TCPListener, error) {
	addr := &net.TCPAddr{IP: net.ParseIP(p.host), Port: port}
	l, err := net.ListenTCP("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}

// FreeRange finds n consecutive ports on host, at or above from, that
// nothing listens on now: a port range of its own for a test or a benchmark.
// Another program may take a port after it looked; PortPool skips those.
func FreeRange(host string, from, n int) (int, error) {
	for start := from; start+n <= 65536; start += n {
		free := true
		for p := start; p < start+n && free; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return start, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive ports from %d", n, from)
}
