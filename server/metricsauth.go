package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsRoute registers GET /metrics on r: what the gatherer gathers, behind
// the metrics token when one is configured. The metrics name every running
// preview, which is no business of the internet's.
func (s *Server) metricsRoute(r *gin.Engine) {
	r.GET("/metrics", s.authenticateMetrics, gin.WrapH(promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})))
}

// authenticateMetrics checks the bearer token of a scrape against
// Config.MetricsToken, in constant time; no token configured lets all in.
func (s *Server) authenticateMetrics(c *gin.Context) {
	if s.cfg.MetricsToken == "" {
		c.Next()
		return
	}
	raw, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	// Hashing first makes the comparison's time independent of the length
	// of either token, too.
	got, want := sha256.Sum256([]byte(strings.TrimSpace(raw))), sha256.Sum256([]byte(s.cfg.MetricsToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="previewd metrics"`)
		s.abort(c, &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "the metrics token is required"})
		return
	}
	c.Next()
}

// MetricsHandler serves GET /metrics alone, for a listener of its own
// (Config.MetricsElsewhere).
func (s *Server) MetricsHandler() http.Handler {
	r := gin.New()
	r.Use(s.requestID, s.recover)
	r.NoRoute(func(c *gin.Context) {
		s.abort(c, &apiError{status: http.StatusNotFound, code: "not_found", message: "no such endpoint"})
	})
	s.metricsRoute(r)
	return r
}
