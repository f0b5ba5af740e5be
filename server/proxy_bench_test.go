package server_test

import (
	"io"
	"net/http"
	"sort"
	"testing"
	"time"
)

// BenchmarkProxy sends the same sequential GET load to a hello app directly
// (base_url), through the host-routed proxy and through the path-routed
// proxy, interleaved, and reports the latency the proxy adds (p50, p99) and
// its throughput relative to direct.
// Run: go test ./server -run '^$' -bench Proxy -benchtime 2000x
func BenchmarkProxy(b *testing.B) {
	requireInfra(b, true)
	e := newEnv(b, withProxy)
	// The app gets two CPUs: under its default half CPU, requests sent back
	// to back use up its quota and a throttled period (about 20 ms) lands
	// in the p99 of whichever route was being timed.
	gen := e.upload("bench", "proxy-echo")
	r := e.launch("bench", gen, map[string]any{"cpus": 2, "env": map[string]string{"PREVIEW_NAME": "bench"}})
	mustStatus(b, r, http.StatusCreated)
	p := preview{gen: gen, id: r.body["preview_id"].(string), token: r.body["session_token"].(string)}
	r = e.call("GET", "/api/v1/generations/"+p.gen+"/preview/status", "bench", "", nil)
	base := r.body["base_url"].(string)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cookie := func(path string) string {
		req, _ := http.NewRequest("GET", e.api.URL+path+"?token="+p.token, nil)
		if path == "/" {
			req.Host = p.host()
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			return c.Name + "=" + c.Value
		}
		b.Fatalf("no cookie from %s: %d", path, resp.StatusCode)
		return ""
	}
	hostCookie := cookie("/")

	kinds := []struct {
		name, url, host, cookie string
	}{
		{"direct", base + "/", "", ""},
		{"host", e.api.URL + "/", p.host(), hostCookie},
		{"path", e.api.URL + "/p/" + p.id + "/~" + p.token + "/", "", ""},
	}
	get := func(i int) time.Duration {
		k := kinds[i]
		req, _ := http.NewRequest("GET", k.url, nil)
		if k.host != "" {
			req.Host = k.host
		}
		if k.cookie != "" {
			req.Header.Set("Cookie", k.cookie)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", k.name, resp.StatusCode)
		}
		return d
	}
	for i := 0; i < 100; i++ { // warm the connections and the app
		for k := range kinds {
			get(k)
		}
	}
	samples := make([][]time.Duration, len(kinds))
	totals := make([]time.Duration, len(kinds))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range kinds {
			d := get(k)
			samples[k] = append(samples[k], d)
			totals[k] += d
		}
	}
	b.StopTimer()
	pct := func(s []time.Duration, q float64) time.Duration {
		c := append([]time.Duration(nil), s...)
		sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
		return c[int(q*float64(len(c)-1))]
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	direct := samples[0]
	b.ReportMetric(us(pct(direct, 0.5)), "direct-p50-us")
	for k := 1; k < len(kinds); k++ {
		name := kinds[k].name
		b.ReportMetric(us(pct(samples[k], 0.5)-pct(direct, 0.5)), name+"-added-p50-us")
		b.ReportMetric(us(pct(samples[k], 0.99)-pct(direct, 0.99)), name+"-added-p99-us")
		b.ReportMetric(float64(totals[0])/float64(totals[k]), name+"-throughput-ratio")
	}
}
