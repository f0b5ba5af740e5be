package server

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/sandbox/endpoints"
	"github.com/previewd/previewd/sandbox/framework"
)

const (
	// endpointCacheBytes bounds the memory of the cached endpoint lists
	// (as endpoints.Size counts it).
	endpointCacheBytes = 32 << 20
	// maxExtractions is how many extractions run at once; each is bounded
	// by endpoints.DefaultLimits, so this bounds them all.
	maxExtractions = 2
	// openAPITimeout bounds the fetch of a running app's /openapi.json.
	openAPITimeout = 2 * time.Second
	// maxOpenAPIBytes is the largest /openapi.json read; a larger one is
	// not merged.
	maxOpenAPIBytes = 4 << 20
)

// endpointCache keeps the static endpoint lists of recently asked
// generation revisions (see endpointKey), up to endpointCacheBytes; a
// revision's files never change, so neither does its list. A deleted or
// superseded revision's list is dropped.
type endpointCache struct {
	mu    sync.Mutex
	order *list.List               // most recent first; values are *endpointEntry
	byGen map[string]*list.Element // generation id → element
	bytes int
	limit int
	// slots holds a token per running extraction.
	slots chan struct{}
}

type endpointEntry struct {
	generation string
	result     endpoints.Result
	bytes      int
}

func newEndpointCache() *endpointCache {
	return &endpointCache{order: list.New(), byGen: map[string]*list.Element{}, limit: endpointCacheBytes,
		slots: make(chan struct{}, maxExtractions)}
}

func (c *endpointCache) get(generation string) (endpoints.Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byGen[generation]
	if !ok {
		return endpoints.Result{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*endpointEntry).result, true
}

// put caches res, evicting the least recently asked lists until the cache
// is within its bytes; a list larger than the whole cache is not kept.
func (c *endpointCache) put(generation string, res endpoints.Result) {
	size := len(generation) + endpoints.Size(res.Endpoints)
	for _, r := range res.Reasons {
		size += len(r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(generation)
	if size > c.limit {
		return
	}
	c.byGen[generation] = c.order.PushFront(&endpointEntry{generation: generation, result: res, bytes: size})
	c.bytes += size
	for c.bytes > c.limit {
		c.remove(c.order.Back().Value.(*endpointEntry).generation)
	}
}

// forget drops a generation's list.
func (c *endpointCache) forget(generation string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(generation)
}

// remove drops generation's entry; c.mu is held.
func (c *endpointCache) remove(generation string) {
	el, ok := c.byGen[generation]
	if !ok {
		return
	}
	c.order.Remove(el)
	delete(c.byGen, generation)
	c.bytes -= el.Value.(*endpointEntry).bytes
}

// size is the cache's entries and bytes.
func (c *endpointCache) size() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}

// staticEndpoints returns the endpoints found in g's files.
func (s *Server) staticEndpoints(ctx context.Context, g db.Generation) ([]endpoints.Endpoint, error) {
	res, err := s.staticResult(ctx, g)
	return res.Endpoints, err
}

// staticResult extracts the endpoints of g's files, or takes them from the
// cache when it has them. At most maxExtractions run at once.
func (s *Server) staticResult(ctx context.Context, g db.Generation) (endpoints.Result, error) {
	key := endpointKey(g)
	if res, ok := s.endpoints.get(key); ok {
		return res, nil
	}
	select {
	case s.endpoints.slots <- struct{}{}:
		defer func() { <-s.endpoints.slots }()
	case <-ctx.Done():
		return endpoints.Result{}, ctx.Err()
	}
	if res, ok := s.endpoints.get(key); ok {
		return res, nil // extracted while this request waited
	}
	files, err := s.store.GenerationFiles(ctx, g.ID, g.Revision)
	if err != nil {
		return endpoints.Result{}, err
	}
	byPath := make(map[string][]byte, len(files))
	for _, f := range files {
		byPath[f.Path] = f.Content
	}
	res, err := endpoints.Extract(ctx, framework.Name(g.Framework), byPath, endpoints.DefaultLimits())
	if err != nil {
		return endpoints.Result{}, err
	}
	if ctx.Err() != nil {
		// Cut short by the caller going away, not by a limit: not kept.
		return endpoints.Result{}, ctx.Err()
	}
	s.endpoints.put(key, res)
	return res, nil
}

// endpointKey names a generation's current revision in the endpoint cache.
func endpointKey(g db.Generation) string { return g.ID + "@" + strconv.Itoa(g.Revision) }

// listEndpoints answers GET …/preview/endpoints: what the files declare,
// for a running FastAPI preview what its own /openapi.json adds, and for any
// running preview whose app reported its route table, that table (see
// endpoints.MergeRuntime). When a limit left something out, "truncated" is
// true and "truncated_reason" says what.
func (s *Server) listEndpoints(c *gin.Context) {
	g, ok := s.generation(c)
	if !ok {
		return
	}
	res, err := s.staticResult(c.Request.Context(), g)
	if err != nil {
		s.abort(c, err)
		return
	}
	if g.Framework == string(framework.FastAPI) {
		res = s.withOpenAPI(c.Request.Context(), g, res)
	}
	res = s.withRuntimeTable(c.Request.Context(), g, res)
	out := gin.H{"framework": g.Framework, "endpoints": res.Endpoints, "truncated": res.Truncated}
	if res.Truncated {
		out["truncated_reason"] = strings.Join(res.Reasons, "; ")
	}
	c.JSON(http.StatusOK, out)
}

// withOpenAPI merges the running preview's /openapi.json into res. Any
// failure leaves res as it is.
func (s *Server) withOpenAPI(ctx context.Context, g db.Generation, res endpoints.Result) endpoints.Result {
	p, err := s.store.LivePreview(ctx, g.ID)
	if err != nil || !s.sandbox.Running(p.ID) {
		return res
	}
	doc, err := s.fetchOpenAPI(ctx, p)
	if err != nil {
		s.log.Debug("fetch /openapi.json", "preview_id", p.ID, "err", err)
		return res
	}
	merged, err := endpoints.MergeOpenAPI(res, doc, endpoints.DefaultLimits())
	if err != nil {
		s.log.Warn("merge /openapi.json", "preview_id", p.ID, "err", err)
		return res
	}
	return merged
}

// withRuntimeTable merges the route table the running preview's app
// reported into res. No running preview, or no table yet, leaves res as it
// is.
func (s *Server) withRuntimeTable(ctx context.Context, g db.Generation, res endpoints.Result) endpoints.Result {
	p, err := s.store.LivePreview(ctx, g.ID)
	if err != nil || !s.sandbox.Running(p.ID) {
		return res
	}
	table, err := s.sandbox.RouteTable(ctx, p.ID)
	if err != nil {
		if !errors.Is(err, sandbox.ErrNoRouteTable) && !errors.Is(err, sandbox.ErrNoRunningApp) {
			s.log.Warn("read route table", "preview_id", p.ID, "err", err)
		}
		return res
	}
	return endpoints.MergeRuntime(res, table.Routes, endpoints.DefaultLimits())
}

// fetchOpenAPI reads the preview's /openapi.json from its own socket, as
// the proxy reaches it, and from nothing else: the app chooses the answer,
// so a redirect is not followed (it could point at another preview's port
// or anything else previewd reaches) and the dial ignores the address. It
// goes around the user's proxy session, so it does not count as the user's
// traffic. The body is cut at maxOpenAPIBytes and the whole fetch at
// openAPITimeout.
func (s *Server) fetchOpenAPI(ctx context.Context, p db.Preview) ([]byte, error) {
	port := p.Port
	ctx, cancel := context.WithTimeout(ctx, openAPITimeout)
	defer cancel()
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return s.sandbox.DialApp(ctx, port)
		},
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL(p)+"/openapi.json", nil)
	if err != nil {
		return nil, fmt.Errorf("openapi request: %w", err)
	}
	req.Header.Set("User-Agent", "previewd-endpoints")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get /openapi.json: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get /openapi.json: status %d", resp.StatusCode)
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, maxOpenAPIBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read /openapi.json: %w", err)
	}
	if len(doc) > maxOpenAPIBytes {
		return nil, fmt.Errorf("/openapi.json is larger than %d bytes", maxOpenAPIBytes)
	}
	return doc, nil
}
