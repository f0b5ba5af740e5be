package sandbox

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestKeyedMutex(t *testing.T) {
	var k keyedMutex
	var wg sync.WaitGroup
	inside := map[string]int{}
	var mu sync.Mutex
	for i := 0; i < 50; i++ {
		key := []string{"a", "b"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := k.lock(key)
			defer unlock()
			mu.Lock()
			inside[key]++
			if inside[key] != 1 {
				t.Errorf("%d holders of %s at once", inside[key], key)
			}
			mu.Unlock()
			mu.Lock()
			inside[key]--
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(k.m) != 0 {
		t.Fatalf("%d keys left after every unlock", len(k.m))
	}
}

// TestDialAppUnknownPort: a port no preview of the manager has is left to
// the caller to dial.
func TestDialAppUnknownPort(t *testing.T) {
	m := &Manager{live: map[string]*instance{}}
	if _, err := m.DialApp(context.Background(), 3001); !errors.Is(err, ErrNoApp) {
		t.Fatalf("DialApp of an unknown port: %v, want ErrNoApp", err)
	}
}
