package server

import (
	"container/list"
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/endpoints"
	"github.com/previewd/previewd/sandbox/framework"
)

const (
	// endpointCacheSize is how many generations' endpoint lists are kept.
	endpointCacheSize = 512
	// openAPITimeout bounds the fetch of a running app's /openapi.json.
	openAPITimeout = 2 * time.Second
	// maxOpenAPIBytes is the largest /openapi.json read.
	maxOpenAPIBytes = 4 << 20
)

// endpointCache keeps the static endpoint list of recently asked
// generations; a generation's files never change, so neither does its list.
type endpointCache struct {
	mu    sync.Mutex
	order *list.List               // most recent first; values are *endpointEntry
	byGen map[string]*list.Element // generation id → element
}

type endpointEntry struct {
	generation string
	endpoints  []endpoints.Endpoint
}

func newEndpointCache() *endpointCache {
	return &endpointCache{order: list.New(), byGen: map[string]*list.Element{}}
}

func (c *endpointCache) get(generation string) ([]endpoints.Endpoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byGen[generation]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*endpointEntry).endpoints, true
}

func (c *endpointCache) put(generation string, eps []endpoints.Endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byGen[generation]; ok {
		el.Value.(*endpointEntry).endpoints = eps
		c.order.MoveToFront(el)
		return
	}
	c.byGen[generation] = c.order.PushFront(&endpointEntry{generation: generation, endpoints: eps})
	for c.order.Len() > endpointCacheSize {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byGen, last.Value.(*endpointEntry).generation)
	}
}

// staticEndpoints returns the endpoints found in g's files, from the cache
// when it has them.
func (s *Server) staticEndpoints(ctx context.Context, g db.Generation) ([]endpoints.Endpoint, error) {
	if eps, ok := s.endpoints.get(g.ID); ok {
		return eps, nil
	}
	files, err := s.store.GenerationFiles(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	byPath := make(map[string][]byte, len(files))
	for _, f := range files {
		byPath[f.Path] = f.Content
	}
	eps, err := endpoints.Extract(framework.Name(g.Framework), byPath)
	if err != nil {
		return nil, err
	}
	s.endpoints.put(g.ID, eps)
	return eps, nil
}

// listEndpoints answers GET …/preview/endpoints: what the files declare, and
// for a running FastAPI preview what its own /openapi.json adds.
func (s *Server) listEndpoints(c *gin.Context) {
	g, ok := s.generation(c)
	if !ok {
		return
	}
	eps, err := s.staticEndpoints(c.Request.Context(), g)
	if err != nil {
		s.abort(c, err)
		return
	}
	if g.Framework == string(framework.FastAPI) {
		eps = s.withOpenAPI(c.Request.Context(), g, eps)
	}
	c.JSON(http.StatusOK, gin.H{"framework": g.Framework, "endpoints": eps})
}

// withOpenAPI merges the running preview's /openapi.json into eps. It reads
// it through the preview's port, as previewd's own health check does, not
// through a user's proxy session, so it does not count as the user's
// traffic. Any failure leaves eps as they are.
func (s *Server) withOpenAPI(ctx context.Context, g db.Generation, eps []endpoints.Endpoint) []endpoints.Endpoint {
	p, err := s.store.LivePreview(ctx, g.ID)
	if err != nil || !s.sandbox.Running(p.ID) {
		return eps
	}
	ctx, cancel := context.WithTimeout(ctx, openAPITimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL(p)+"/openapi.json", nil)
	if err != nil {
		return eps
	}
	req.Header.Set("User-Agent", "previewd-endpoints")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return eps
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return eps
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, maxOpenAPIBytes))
	if err != nil {
		return eps
	}
	merged, err := endpoints.MergeOpenAPI(eps, doc)
	if err != nil {
		s.log.Warn("merge /openapi.json", "preview_id", p.ID, "err", err)
		return eps
	}
	return merged
}
