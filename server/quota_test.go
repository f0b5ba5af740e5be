package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/previewd/previewd/db"
)

// fastAPIOfSize is a one-file FastAPI generation of exactly size bytes.
func fastAPIOfSize(size int) map[string]any {
	content := helloFastAPI + "#" + strings.Repeat("x", size-len(helloFastAPI)-2) + "\n"
	return map[string]any{"files": []map[string]string{{"path": "main.py", "content": content}}}
}

// uploadConcurrently sends n uploads of size bytes as user at once and
// returns the answers.
func (e *env) uploadConcurrently(user string, n, size int) []response {
	out := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = e.callJSON("POST", "/api/v1/generations", user, fastAPIOfSize(size))
		}()
	}
	wg.Wait()
	return out
}

// TestUserQuotas: a user may store so many generations (429 past it) and so
// many bytes (413 past it), even when the uploads race; other users are not
// affected, and deleting makes room.
func TestUserQuotas(t *testing.T) {
	e := newEnv(t, func(_ *sandboxConfig, s *serverConfig) {
		s.Quota = db.Quota{MaxGenerations: 4, MaxBytes: 10_000}
	})
	count := func(rs []response, status int, limit string) int {
		n := 0
		for _, r := range rs {
			switch {
			case r.status == http.StatusCreated:
			case r.status == status && r.errorCode() == "quota_exceeded" && r.errorField("limit") == limit &&
				strings.Contains(r.errorField("message").(string), "quota"):
				n++
			default:
				t.Fatalf("upload over the quota: %d %s", r.status, r.raw)
			}
		}
		return n
	}

	// Eight racing uploads of 1000 bytes: four fit, four are over the
	// generation count.
	if n := count(e.uploadConcurrently("alice", 8, 1000), http.StatusTooManyRequests, "generations"); n != 4 {
		t.Fatalf("%d of 8 racing uploads refused, want 4", n)
	}
	r := e.callJSON("GET", "/api/v1/generations", "alice", nil)
	gens := r.body["generations"].([]any)
	if len(gens) != 4 {
		t.Fatalf("alice stores %d generations", len(gens))
	}
	r = e.callJSON("POST", "/api/v1/generations", "alice", fastAPIOfSize(1000))
	if r.status != http.StatusTooManyRequests || r.errorField("used") != 4.0 || r.errorField("max") != 4.0 {
		t.Fatalf("fifth upload: %d %s", r.status, r.raw)
	}
	mustStatus(t, e.callJSON("DELETE", "/api/v1/generations/"+gens[0].(map[string]any)["id"].(string), "alice", nil), http.StatusNoContent)
	mustStatus(t, e.callJSON("POST", "/api/v1/generations", "alice", fastAPIOfSize(1000)), http.StatusCreated)

	// Six racing uploads of 3000 bytes for bob: three fit in 10 000.
	if n := count(e.uploadConcurrently("bob", 6, 3000), http.StatusRequestEntityTooLarge, "bytes"); n != 3 {
		t.Fatalf("%d of 6 racing uploads refused, want 3", n)
	}
	r = e.callJSON("POST", "/api/v1/generations", "bob", fastAPIOfSize(2000))
	if r.status != http.StatusRequestEntityTooLarge || r.errorField("used") != 9000.0 || r.errorField("max") != 10000.0 {
		t.Fatalf("upload past the bytes: %d %s", r.status, r.raw)
	}
	mustStatus(t, e.callJSON("POST", "/api/v1/generations", "bob", fastAPIOfSize(1000)), http.StatusCreated)

	// Carol has her own quota.
	mustStatus(t, e.callJSON("POST", "/api/v1/generations", "carol", fastAPIOfSize(1000)), http.StatusCreated)
}
