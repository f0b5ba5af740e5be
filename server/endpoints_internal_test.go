package server

import (
	"testing"

	"github.com/previewd/previewd/sandbox/endpoints"
)

func cacheResult(n int, path string) endpoints.Result {
	eps := make([]endpoints.Endpoint, n)
	for i := range eps {
		eps[i] = endpoints.Endpoint{Method: "GET", Path: path}
	}
	return endpoints.Result{Endpoints: eps}
}

// TestEndpointCacheBytes: the cache holds lists up to its bytes, evicting
// the least recently asked, never keeps a list larger than itself, and
// drops a deleted generation's list.
func TestEndpointCacheBytes(t *testing.T) {
	c := newEndpointCache()
	one := len("g0") + endpoints.Size(cacheResult(10, "/x").Endpoints)
	c.limit = 3*one + one/2
	for _, g := range []string{"g0", "g1", "g2"} {
		c.put(g, cacheResult(10, "/x"))
	}
	c.get("g0") // g1 is now the least recently asked
	c.put("g3", cacheResult(10, "/x"))
	if _, ok := c.get("g1"); ok {
		t.Error("g1 kept past the cache's bytes")
	}
	for _, g := range []string{"g0", "g2", "g3"} {
		if _, ok := c.get(g); !ok {
			t.Errorf("%s evicted", g)
		}
	}
	if n, bytes := c.size(); n != 3 || bytes != 3*one || bytes > c.limit {
		t.Errorf("%d entries, %d bytes; want 3 and %d (limit %d)", n, bytes, 3*one, c.limit)
	}
	c.put("huge", cacheResult(1000, "/x"))
	if _, ok := c.get("huge"); ok {
		t.Error("a list larger than the cache was kept")
	}
	c.forget("g2")
	if _, ok := c.get("g2"); ok {
		t.Error("forgotten list still cached")
	}
	if n, bytes := c.size(); n != 2 || bytes != 2*one {
		t.Errorf("after forget: %d entries, %d bytes; want 2 and %d", n, bytes, 2*one)
	}
}
