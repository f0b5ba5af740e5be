package sandbox

import (
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
)

// freeRange finds n consecutive ports that are free now.
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for start := 42000; start < 60000; start += n {
		ok := true
		for p := start; p < start+n; p++ {
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
	t.Fatal("no free port range")
	return 0
}

func TestPortPoolExhaustionAndRelease(t *testing.T) {
	start := freeRange(t, 3)
	pool, err := NewPortPool("127.0.0.1", start, start+2)
	if err != nil {
		t.Fatal(err)
	}
	var ls []*net.TCPListener
	seen := map[int]bool{}
	for i := 0; i < 3; i++ {
		l, err := pool.Reserve()
		if err != nil {
			t.Fatalf("reserve %d: %v", i, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
		ls = append(ls, l)
	}
	if _, err := pool.Reserve(); !errors.Is(err, ErrNoPort) {
		t.Fatalf("reserve on a full pool: %v, want ErrNoPort", err)
	}
	port := ls[1].Addr().(*net.TCPAddr).Port
	ls[1].Close()
	pool.Release(port)
	l, err := pool.Reserve()
	if err != nil {
		t.Fatalf("reserve after release: %v", err)
	}
	if got := l.Addr().(*net.TCPAddr).Port; got != port {
		t.Fatalf("got port %d, want the released %d", got, port)
	}
	if pool.InUse() != 3 {
		t.Fatalf("InUse = %d, want 3", pool.InUse())
	}
}

func TestPortPoolSkipsPortsHeldElsewhere(t *testing.T) {
	start := freeRange(t, 2)
	other, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(start))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	pool, _ := NewPortPool("127.0.0.1", start, start+1)
	l, err := pool.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Addr().(*net.TCPAddr).Port; got != start+1 {
		t.Fatalf("got port %d, want %d (the first is held by another program)", got, start+1)
	}
	if _, err := pool.Reserve(); !errors.Is(err, ErrNoPort) {
		t.Fatalf("second reserve: %v, want ErrNoPort", err)
	}
}

func TestPortPoolConcurrentReserveNeverDuplicates(t *testing.T) {
	const n = 20
	start := freeRange(t, n)
	pool, _ := NewPortPool("127.0.0.1", start, start+n-1)
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < n+5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := pool.Reserve()
			if err != nil {
				return
			}
			mu.Lock()
			seen[l.Addr().(*net.TCPAddr).Port]++
			mu.Unlock()
			t.Cleanup(func() { l.Close() })
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct ports reserved, want %d", len(seen), n)
	}
	for p, c := range seen {
		if c != 1 {
			t.Fatalf("port %d reserved %d times", p, c)
		}
	}
}

func TestNewPortPoolRejectsBadRange(t *testing.T) {
	for _, r := range [][2]int{{0, 10}, {10, 5}, {65000, 70000}} {
		if _, err := NewPortPool("127.0.0.1", r[0], r[1]); err == nil {
			t.Errorf("range %v accepted", r)
		}
	}
}

func TestFreeRangeSkipsHeldPorts(t *testing.T) {
	start, err := FreeRange("127.0.0.1", 30000+os.Getpid()%5000, 4)
	if err != nil {
		t.Fatal(err)
	}
	held, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(start+2))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	again, err := FreeRange("127.0.0.1", start, 4)
	if err != nil {
		t.Fatal(err)
	}
	if again <= start+2 && start+2 < again+4 {
		t.Fatalf("range %d–%d holds the taken port %d", again, again+3, start+2)
	}
	if _, err := FreeRange("127.0.0.1", 65535, 4); err == nil {
		t.Fatal("a range past 65535 was found")
	}
}
