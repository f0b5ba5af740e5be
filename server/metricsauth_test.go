package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// scrape gets url with the bearer token tok ("" sends none).
func scrape(t *testing.T, url, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestMetricsToken: with PREVIEW_METRICS_TOKEN set, /metrics answers 401
// with the error body unless the scrape carries the token.
func TestMetricsToken(t *testing.T) {
	const tok = "metrics-token-0123456789"
	e := newEnv(t, func(_ *sandboxConfig, s *serverConfig) { s.MetricsToken = tok })
	for _, bad := range []string{"", "wrong", tok + "x", tok[:10]} {
		status, body := scrape(t, e.api.URL+"/metrics", bad)
		if status != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthorized"`) || strings.Contains(body, "preview_") {
			t.Fatalf("token %q: %d %s", bad, status, body)
		}
	}
	if status, body := scrape(t, e.api.URL+"/metrics", tok); status != http.StatusOK || !strings.Contains(body, "preview_sse_clients") {
		t.Fatalf("with the token: %d %.200s", status, body)
	}
}

// TestMetricsElsewhere: with PREVIEW_METRICS_ADDR set, /metrics is served by
// its own handler and not by the public one.
func TestMetricsElsewhere(t *testing.T) {
	e := newEnv(t, func(_ *sandboxConfig, s *serverConfig) { s.MetricsElsewhere = true })
	if status, body := scrape(t, e.api.URL+"/metrics", ""); status != http.StatusNotFound || !strings.Contains(body, `"code":"not_found"`) {
		t.Fatalf("public /metrics: %d %.200s", status, body)
	}
	internal := httptest.NewServer(e.srv.MetricsHandler())
	defer internal.Close()
	if status, body := scrape(t, internal.URL+"/metrics", ""); status != http.StatusOK || !strings.Contains(body, "preview_sse_clients") {
		t.Fatalf("internal /metrics: %d %.200s", status, body)
	}
	if status, body := scrape(t, internal.URL+"/api/v1/generations", ""); status != http.StatusNotFound {
		t.Fatalf("the metrics listener serves the API: %d %.200s", status, body)
	}
}
