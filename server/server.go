// Package server is previewd's HTTP API: routing, authentication, handlers,
// error mapping and metrics.
package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/server/web"
)

// Store is what the server needs from PostgreSQL.
type Store interface {
	Ping(ctx context.Context) error
	CreateGeneration(ctx context.Context, g *db.Generation, files []db.File, q db.Quota) error
	Generation(ctx context.Context, owner, id string) (db.Generation, error)
	Generations(ctx context.Context, owner string, after *db.Cursor, limit int) ([]db.Generation, error)
	GenerationFileInfos(ctx context.Context, id string, revision int) ([]db.FileInfo, error)
	GenerationFiles(ctx context.Context, id string, revision int) ([]db.File, error)
	UpdateFiles(ctx context.Context, owner, id string, base int, change db.Change, q db.Quota) (db.Generation, db.Revision, error)
	Revisions(ctx context.Context, id string) ([]db.Revision, error)
	LatestPreview(ctx context.Context, generationID string) (db.Preview, error)
	LivePreview(ctx context.Context, generationID string) (db.Preview, error)
	Preview(ctx context.Context, id string) (db.Preview, error)
	Logs(ctx context.Context, previewID string, since int64, limit int) ([]db.LogLine, error)
	SessionPreview(ctx context.Context, tokenHash []byte) (db.Preview, error)
	TouchPreview(ctx context.Context, previewID string, tokenHash []byte, sessionTimeout time.Duration) error
	SaveChecks(ctx context.Context, c db.Checks, screenshots map[int][]byte) error
	PreviewChecks(ctx context.Context, previewID string) (db.Checks, error)
	Screenshot(ctx context.Context, previewID string, page int) ([]byte, error)
}

// Sandbox is what the server needs from the container side.
type Sandbox interface {
	Ping(ctx context.Context) error
	Launch(ctx context.Context, req sandbox.LaunchRequest) (sandbox.Launched, error)
	Stop(ctx context.Context, p db.Preview) error
	// DeleteGeneration stops the generation's preview and deletes the
	// generation, with launches of it held off meanwhile.
	DeleteGeneration(ctx context.Context, owner, generationID string) error
	// Reload updates the generation's running preview to its new revision.
	Reload(ctx context.Context, req sandbox.ReloadRequest) (sandbox.Reloaded, error)
	LiveStats(previewID string) *sandbox.Stats
	Running(previewID string) bool
	Touched(previewID string)
	Config() sandbox.Config
	PortRange() (start, end, free int)
	SubscribeLogs(previewID string) *sandbox.LogSubscription
	// Note adds a runner event to the log of a preview this process runs.
	Note(previewID, text string) bool
	// DialApp connects to the app on a preview's port without going through
	// the port; sandbox.ErrNoApp means no preview here has it.
	DialApp(ctx context.Context, port int) (net.Conn, error)
	// RouteTable is the route table a running preview's app reported.
	RouteTable(ctx context.Context, previewID string) (sandbox.RouteTable, error)
}

var (
	_ Store   = (*db.Store)(nil)
	_ Sandbox = (*sandbox.Manager)(nil)
)

// Config configures the server.
type Config struct {
	JWTSecret      []byte
	JWTIssuer      string
	JWTAudience    string
	MaxFiles       int
	MaxUploadBytes int64
	RequestTimeout time.Duration
	// MaxProxyBody is the most of an app's response body POST /request returns.
	MaxProxyBody int64
	// PublicDomain is the host-routing domain: <preview_id>.<PublicDomain> is
	// a preview's own origin. Empty turns host routing off.
	PublicDomain string
	// PublicPort is the port in proxy_url; 0 or 80 leaves it out.
	PublicPort int
	// BodyGrace and BodyMinRate (bytes per second) are the floor under which
	// a request body, to the API or through the proxy, is cut off: after the
	// grace period the body must have come at BodyMinRate on average.
	// BodyMinRate 0 turns the floor off.
	BodyGrace   time.Duration
	BodyMinRate int64
	// Quota is what one user may store; zero fields are no limit.
	Quota db.Quota
	// MaxStreamsPerUser and MaxStreamsPerPreview cap the log streams open
	// at once in this process; 0 is no cap.
	MaxStreamsPerUser    int
	MaxStreamsPerPreview int
	// MetricsToken, when set, is the bearer token GET /metrics requires.
	MetricsToken string
	// MetricsElsewhere leaves /metrics out of Handler: MetricsHandler
	// serves it on a listener of its own.
	MetricsElsewhere bool
	// ChecksOff turns the checks of healthy previews off (PREVIEW_CHECKS=off).
	ChecksOff bool
	// CheckMax is how many routes the endpoint checks call at most; 0 is
	// defaultCheckMax.
	CheckMax int
	// Browser renders pages for the browser check; nil when there is no
	// browser on this host (the check says "unavailable").
	Browser PageRenderer
	// LogNotices tells a log stream of a preview another previewd runs that
	// lines were stored (db.ListenLogs); nil makes such streams read the
	// store every LogPoll instead.
	LogNotices LogNotices
	// LogPoll is how often such a stream reads the store when no notice
	// came: 0 is 250 ms without LogNotices, 5 s with them (notices lost
	// while the listener reconnects are made up for by a read anyway).
	LogPoll time.Duration
}

// LogNotices wakes the log streams of a preview when its lines are stored.
type LogNotices interface {
	// Wait returns a channel that receives when lines of the preview were
	// stored, and a func that ends the waiting.
	Wait(previewID string) (<-chan struct{}, func())
}

// Server is the HTTP API.
type Server struct {
	cfg      Config
	store    Store
	sandbox  Sandbox
	log      *slog.Logger
	metrics  *httpMetrics
	gatherer prometheus.Gatherer
	engine   *gin.Engine
	// sseClients counts open log streams.
	sseClients prometheus.Gauge
	endpoints  *endpointCache
	streams    *streamCaps
	checks     *checker

	closing context.Context // ends with Close: long-lived streams end
	close   context.CancelFunc
	proxy   *proxy
	handler http.Handler
}

// New builds the server and registers its metrics with reg; /metrics serves
// what gatherer gathers.
func New(cfg Config, store Store, sb Sandbox, reg prometheus.Registerer, gatherer prometheus.Gatherer, log *slog.Logger) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{cfg: cfg, store: store, sandbox: sb, log: log, metrics: newHTTPMetrics(reg), gatherer: gatherer}
	s.closing, s.close = context.WithCancel(context.Background())
	if s.cfg.MaxProxyBody <= 0 {
		s.cfg.MaxProxyBody = 10 << 20
	}
	if s.cfg.BodyGrace <= 0 {
		s.cfg.BodyGrace = defaultBodyGrace
	}
	if s.cfg.LogPoll <= 0 {
		s.cfg.LogPoll = logPollInterval
		if s.cfg.LogNotices != nil {
			s.cfg.LogPoll = logPollWithNotices
		}
	}
	s.proxy = newProxy(s, reg)
	s.checks = newChecker(s, reg)
	s.sseClients = newSSEClients(reg)
	s.streams = newStreamCaps(cfg.MaxStreamsPerUser, cfg.MaxStreamsPerPreview)
	s.endpoints = newEndpointCache()
	s.engine = s.routes()
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s
}

// Close ends the open log streams with a final `event: shutdown`, so that an
// http.Server's Shutdown need not wait for them; clients reconnect and resume
// with Last-Event-ID. The checks under way end too; Close waits for them.
// Call it when shutting down (http.Server.RegisterOnShutdown).
func (s *Server) Close() {
	s.close()
	s.checks.close()
}

// Handler returns the HTTP handler: the browser proxy for preview hosts and
// /p/ paths, the API for everything else.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	r, done := s.limitBodyRate(w, r)
	defer done()
	s.route(w, r)
}

func (s *Server) routes() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.requestID, s.recover, s.observe)
	r.NoRoute(func(c *gin.Context) {
		s.abort(c, &apiError{status: http.StatusNotFound, code: "not_found", message: "no such endpoint"})
	})
	r.NoMethod(func(c *gin.Context) {
		s.abort(c, &apiError{status: http.StatusMethodNotAllowed, code: "invalid_request", message: "method not allowed on this endpoint"})
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	if !s.cfg.MetricsElsewhere {
		s.metricsRoute(r)
	}

	api := r.Group("/api/v1", s.authenticate)
	api.GET("/config", s.config)
	api.POST("/generations", s.createGeneration)
	api.GET("/generations", s.listGenerations)
	api.GET("/generations/:id", s.getGeneration)
	api.DELETE("/generations/:id", s.deleteGeneration)
	api.PATCH("/generations/:id/files", s.patchFiles)
	api.PUT("/generations/:id/files", s.replaceFiles)
	api.GET("/generations/:id/revisions", s.listRevisions)

	preview := api.Group("/generations/:id/preview")
	preview.POST("/launch", s.launch)
	preview.GET("/status", s.status)
	preview.DELETE("", s.stop)
	preview.GET("/config", s.config)
	preview.POST("/request", s.request)
	preview.GET("/endpoints", s.listEndpoints)
	preview.GET("/checks", s.getChecks)
	preview.GET("/screenshot", s.getScreenshot)
	s.logRoutes(r)
	web.Register(r) // the Preview tab: / and /ui/…
	return r
}
