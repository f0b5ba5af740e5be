package server_test

import (
	"net/http"
	"testing"
)

// BenchmarkLaunchFastAPI launches a FastAPI hello app and stops it, b.N times,
// and reports the median of each launch phase as the API's timings_ms show it.
// Run: go test ./server -run '^$' -bench LaunchFastAPI -benchtime 10x
func BenchmarkLaunchFastAPI(b *testing.B) {
	requireInfra(b, true)
	e := newEnv(b)
	r := e.callJSON("POST", "/api/v1/generations", "bench", map[string]any{
		"name": "hello", "files": []map[string]string{{"path": "main.py", "content": helloFastAPI}},
	})
	if r.status != http.StatusCreated {
		b.Fatalf("upload: %d %s", r.status, r.raw)
	}
	benchLaunches(b, e, r.body["id"].(string), "")
}
