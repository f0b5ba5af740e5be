package server

import (
	"sync"
	"time"
)

// recent remembers a value per session for a while, in bounded memory.
type recent[V any] struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[string]recentEntry[V]
}

type recentEntry[V any] struct {
	v  V
	at time.Time
}

func newRecent[V any](ttl time.Duration, size int) recent[V] {
	return recent[V]{ttl: ttl, max: size, m: map[string]recentEntry[V]{}}
}

// get returns the value put under key less than ttl ago.
func (r *recent[V]) get(key string, now time.Time) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[key]
	if !ok || now.Sub(e.at) >= r.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (r *recent[V]) put(key string, v V, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= r.max {
		for k, e := range r.m {
			if now.Sub(e.at) >= r.ttl {
				delete(r.m, k)
			}
		}
		if len(r.m) >= r.max {
			clear(r.m) // a flood of sessions: a few extra queries beat unbounded memory
		}
	}
	r.m[key] = recentEntry[V]{v: v, at: now}
}
