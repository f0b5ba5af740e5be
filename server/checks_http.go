package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/previewd/previewd/db"
)

// checksJSON is the answer of GET …/preview/checks.
func (s *Server) checksJSON(p db.Preview, ch db.Checks, found bool) gin.H {
	out := gin.H{
		"preview_id": p.ID,
		"revision":   p.Revision,
		"state":      "pending",
		"checked_at": nil,
		"endpoints":  []endpointCheck{},
		"summary":    nil,
		"browser":    nil,
	}
	switch {
	case found:
		var eps []endpointCheck
		if err := json.Unmarshal(ch.Endpoints, &eps); err != nil || eps == nil {
			eps = []endpointCheck{}
		}
		out["revision"], out["state"], out["endpoints"] = ch.Revision, ch.State, eps
		if ch.CheckedAt != nil {
			out["checked_at"] = ch.CheckedAt.UTC()
			out["summary"] = checksSummary(eps)
		}
		if len(ch.Browser) > 0 {
			out["browser"] = json.RawMessage(ch.Browser)
		}
	case s.cfg.ChecksOff:
		out["state"] = "off"
	case !p.Live():
		out["state"] = "none" // it ended before it became healthy
	}
	return out
}

// getChecks answers GET …/preview/checks: what the endpoint and browser
// checks of the generation's latest preview found.
func (s *Server) getChecks(c *gin.Context) {
	_, p, ok := s.generationAndPreview(c)
	if !ok {
		return
	}
	ch, err := s.store.PreviewChecks(c.Request.Context(), p.ID)
	found := err == nil
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		s.abort(c, err)
		return
	}
	c.JSON(http.StatusOK, s.checksJSON(p, ch, found))
}

// getScreenshot answers GET …/preview/screenshot[?page=N]: the PNG of a
// page the browser check of the latest preview rendered (page 0, the
// default, is the root page).
func (s *Server) getScreenshot(c *gin.Context) {
	page := 0
	if v := c.Query("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n >= maxBrowserPages {
			s.abort(c, badRequest("page must be an integer from 0 to "+strconv.Itoa(maxBrowserPages-1)))
			return
		}
		page = n
	}
	_, p, ok := s.generationAndPreview(c)
	if !ok {
		return
	}
	png, err := s.store.Screenshot(c.Request.Context(), p.ID, page)
	if errors.Is(err, db.ErrNotFound) {
		s.abort(c, &apiError{status: http.StatusNotFound, code: "not_found", message: "the browser check of this preview has no screenshot of that page"})
		return
	}
	if err != nil {
		s.abort(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "image/png", png)
}

// checksEvent sends `event: checks` when the preview's checks finished
// since the stream last said so (*sent holds what it said).
func (s *Server) checksEvent(ctx context.Context, out *sseWriter, p db.Preview, sent *string) error {
	ch, err := s.store.PreviewChecks(ctx, p.ID)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if ch.State != db.ChecksDone && ch.State != db.ChecksSkipped {
		return nil
	}
	key := ch.State
	if ch.CheckedAt != nil {
		key += ch.CheckedAt.UTC().Format(time.RFC3339Nano)
	}
	if key == *sent {
		return nil
	}
	*sent = key
	full := s.checksJSON(p, ch, true)
	ev := gin.H{"preview_id": p.ID, "revision": ch.Revision, "state": ch.State, "checked_at": full["checked_at"], "summary": full["summary"]}
	if eps, ok := full["endpoints"].([]endpointCheck); ok {
		failing := 0
		for i := range eps {
			if eps[i].failed() {
				failing++
			}
		}
		ev["endpoints"], ev["failing"] = len(eps), failing
	}
	if b := ch.Browser; len(b) > 0 {
		ev["browser"] = browserSummary(b)
	}
	return out.event("checks", ev)
}
