package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
)

// reloadAnswer applies the new revision of g to its running preview, if one
// runs here, and answers the change: {"revision", "status", "reload",
// "timings_ms"}, 202 while an update runs on without wait, or 422
// launch_failed (with the revision that failed) when the new version did
// not come up and the old one serves on.
func (s *Server) reloadAnswer(c *gin.Context, g db.Generation, wait bool, start time.Time) {
	res, err := s.sandbox.Reload(c.Request.Context(), sandbox.ReloadRequest{Generation: g, Wait: wait, Healthy: s.reloadedHook(g)})
	if err != nil {
		s.abort(c, err)
		return
	}
	status := db.StatusStopped
	if res.Preview.ID != "" {
		status = res.Preview.Status
	} else if p, err := s.store.LatestPreview(c.Request.Context(), g.ID); err == nil {
		status = p.Status
	}
	timings := gin.H{"write": 0, "start": 0, "healthy": 0}
	for k, v := range res.Timings {
		timings[k] = v
	}
	timings["total"] = time.Since(start).Milliseconds()
	out := gin.H{"revision": g.Revision, "status": status, "reload": res.Mode, "timings_ms": timings}
	if res.Preview.ID != "" {
		out["preview_id"] = res.Preview.ID
		out["serving_revision"] = res.Preview.Revision
	}
	if res.Note != "" {
		out["note"] = res.Note
	}
	code := http.StatusOK
	if res.Pending {
		out["status"] = "reloading"
		code = http.StatusAccepted
	}
	c.Header("ETag", etag(g.Revision))
	c.JSON(code, out)
}

// waitParam reads ?wait=: true unless it says false.
func waitParam(c *gin.Context) (bool, error) {
	v := c.Query("wait")
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("wait must be true or false")
	}
	return b, nil
}
