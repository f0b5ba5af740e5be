package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// client is a small typed client of the previewd API (API.md).
type client struct {
	base  *url.URL // scheme and host of previewd, e.g. http://127.0.0.1:8080
	token string   // bearer JWT
	http  *http.Client
}

// newClient checks baseURL and returns a client for it.
func newClient(baseURL, token string) (*client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("-url %q is not an http:// or https:// URL", baseURL)
	}
	// No overall timeout: a launch waits for the app and a log stream lasts
	// as long as the preview. Every call is bounded by its context instead.
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &client{base: u, token: token, http: &http.Client{Transport: transport}}, nil
}

// apiError is an API error answer: {"error": {"code", "message", ...}}.
type apiError struct {
	Status    int      `json:"-"` // the HTTP status
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	RequestID string   `json:"request_id"`
	PreviewID string   `json:"preview_id"`
	ExitCode  *int     `json:"exit_code"`
	OOMKilled bool     `json:"oom_killed"`
	LogTail   []string `json:"log_tail"`
	Cause     *cause   `json:"cause"`
}

// cause is why a launch failed, as previewd worked it out.
type cause struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Symbol  string `json:"symbol"`
	Hint    string `json:"hint"`
}

// headline is the cause in one line: "import_error at routers/items.py:12:
// ModuleNotFoundError: No module named 'stripe'".
func (c *cause) headline() string {
	where := c.File
	if where != "" && c.Line > 0 {
		where = fmt.Sprintf("%s:%d", c.File, c.Line)
	}
	if where == "" {
		return c.Kind + ": " + c.Message
	}
	return c.Kind + " at " + where + ": " + c.Message
}

func (e *apiError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("previewd answered %d %s", e.Status, http.StatusText(e.Status))
}

// unreachableError is a request that never got an HTTP answer.
type unreachableError struct {
	url string
	err error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach previewd at %s (%s)", e.url, netCause(e.err))
}

func (e *unreachableError) Unwrap() error { return e.err }

// netCause is the useful part of a transport error, e.g. "connection refused".
func netCause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return strings.TrimPrefix(op.Err.Error(), "connect: ")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// generation is a stored generation.
type generation struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Framework  string    `json:"framework"`
	Entrypoint string    `json:"entrypoint"`
	FileCount  int       `json:"file_count"`
	TotalBytes int64     `json:"total_bytes"`
	CreatedAt  time.Time `json:"created_at"`
}

type generationPage struct {
	Generations []generation `json:"generations"`
	NextCursor  string       `json:"next_cursor"`
}

// launchOptions is the body of POST …/preview/launch; zero fields take the
// server's defaults.
type launchOptions struct {
	MemoryMB   int               `json:"memory_mb,omitempty"`
	CPUs       float64           `json:"cpus,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	TTLSeconds int               `json:"ttl_seconds,omitempty"`
	Wait       bool              `json:"wait"`
}

// launched is the answer of a launch.
type launched struct {
	PreviewID        string           `json:"preview_id"`
	GenerationID     string           `json:"generation_id"`
	Status           string           `json:"status"`
	Port             int              `json:"port"`
	BaseURL          string           `json:"base_url"`
	ProxyURL         string           `json:"proxy_url"`
	SessionToken     string           `json:"session_token"`
	SessionExpiresAt time.Time        `json:"session_expires_at"`
	ExpiresAt        time.Time        `json:"expires_at"`
	TimingsMS        map[string]int64 `json:"timings_ms"`

	HTTPStatus int             `json:"-"` // 201 started, 202 starting, 200 already live
	Raw        json.RawMessage `json:"-"`
}

// previewStatus is the answer of GET …/preview/status. Pointers are fields
// the server leaves null when they do not apply.
type previewStatus struct {
	PreviewID        string           `json:"preview_id"`
	Status           string           `json:"status"`
	Port             *int             `json:"port"`
	BaseURL          string           `json:"base_url"`
	ProxyURL         string           `json:"proxy_url"`
	StartedAt        *time.Time       `json:"started_at"`
	StoppedAt        *time.Time       `json:"stopped_at"`
	UptimeSeconds    *int64           `json:"uptime_seconds"`
	ExpiresAt        *time.Time       `json:"expires_at"`
	IdleExpiresAt    *time.Time       `json:"idle_expires_at"`
	Healthy          bool             `json:"healthy"`
	MemoryBytes      *int64           `json:"memory_bytes"`
	MemoryLimitBytes *int64           `json:"memory_limit_bytes"`
	CPUPercent       *float64         `json:"cpu_percent"`
	CPULimit         *float64         `json:"cpu_limit"`
	Pids             *int             `json:"pids"`
	PidsLimit        *int             `json:"pids_limit"`
	Restarts         int              `json:"restarts"`
	ExitCode         *int             `json:"exit_code"`
	OOMKilled        bool             `json:"oom_killed"`
	Error            string           `json:"error"`
	Cause            *cause           `json:"cause"`
	EndpointCount    *int             `json:"endpoint_count"`
	TimingsMS        map[string]int64 `json:"timings_ms"`

	Raw json.RawMessage `json:"-"`
}

// live reports a preview that is starting or running.
func (s previewStatus) live() bool { return s.Status == "starting" || s.Status == "running" }

// logLine is one line of a preview's log.
type logLine struct {
	Seq    int64     `json:"seq"`
	TS     time.Time `json:"ts"`
	Stream string    `json:"stream"`
	Line   string    `json:"line"`
}

type logPage struct {
	PreviewID string    `json:"preview_id"`
	Status    string    `json:"status"`
	Lines     []logLine `json:"lines"`
	NextSince int64     `json:"next_since"`
}

type endpointParam struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

type endpoint struct {
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	Summary     string          `json:"summary"`
	Description string          `json:"description"`
	Params      []endpointParam `json:"params"`
	Tags        []string        `json:"tags"`
	File        string          `json:"file"`
	Line        int             `json:"line"`
	Source      string          `json:"source"`
}

type endpointList struct {
	Framework string          `json:"framework"`
	Endpoints []endpoint      `json:"endpoints"`
	Raw       json.RawMessage `json:"-"`
}

// appRequest is the body of POST …/preview/request.
type appRequest struct {
	Method       string            `json:"method"`
	Path         string            `json:"path"`
	Headers      map[string]string `json:"headers,omitempty"`
	Body         string            `json:"body,omitempty"`
	BodyEncoding string            `json:"body_encoding,omitempty"`
}

// appResponse is the app's answer relayed by POST …/preview/request.
type appResponse struct {
	StatusCode   int                 `json:"status_code"`
	Headers      map[string][]string `json:"headers"`
	Body         string              `json:"body"`
	BodyEncoding string              `json:"body_encoding"`
	DurationMS   float64             `json:"duration_ms"`
	Truncated    bool                `json:"truncated"`
	Raw          json.RawMessage     `json:"-"`
}

func genPath(id string, rest ...string) string {
	return "/api/v1/generations/" + url.PathEscape(id) + strings.Join(rest, "")
}

// createGeneration uploads a tar.gz archive as a new generation.
func (c *client) createGeneration(ctx context.Context, name, framework string, archive []byte) (generation, json.RawMessage, error) {
	q := url.Values{"name": {name}}
	if framework != "" {
		q.Set("framework", framework)
	}
	var g generation
	_, raw, err := c.do(ctx, http.MethodPost, "/api/v1/generations?"+q.Encode(), "application/gzip", bytes.NewReader(archive), nil, &g)
	return g, raw, err
}

// generations lists one page of the caller's generations, newest first.
func (c *client) generations(ctx context.Context, limit int, cursor string) (generationPage, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page generationPage
	_, _, err := c.do(ctx, http.MethodGet, "/api/v1/generations?"+q.Encode(), "", nil, nil, &page)
	return page, err
}

func (c *client) deleteGeneration(ctx context.Context, id string) error {
	_, _, err := c.do(ctx, http.MethodDelete, genPath(id), "", nil, nil, nil)
	return err
}

// launch starts the generation's preview, or answers the live one with a new
// session token.
func (c *client) launch(ctx context.Context, id string, opt launchOptions) (launched, error) {
	body, err := json.Marshal(opt)
	if err != nil {
		return launched{}, err
	}
	var l launched
	status, raw, err := c.do(ctx, http.MethodPost, genPath(id, "/preview/launch"), "application/json", bytes.NewReader(body), nil, &l)
	l.HTTPStatus, l.Raw = status, raw
	return l, err
}

func (c *client) status(ctx context.Context, id string) (previewStatus, error) {
	var s previewStatus
	_, raw, err := c.do(ctx, http.MethodGet, genPath(id, "/preview/status"), "", nil, nil, &s)
	s.Raw = raw
	return s, err
}

// stop stops the generation's preview and returns the status it ended with.
func (c *client) stop(ctx context.Context, id string) (previewStatus, error) {
	var s previewStatus
	_, raw, err := c.do(ctx, http.MethodDelete, genPath(id, "/preview"), "", nil, nil, &s)
	s.Raw = raw
	return s, err
}

func (c *client) endpoints(ctx context.Context, id string) (endpointList, error) {
	var l endpointList
	_, raw, err := c.do(ctx, http.MethodGet, genPath(id, "/preview/endpoints"), "", nil, nil, &l)
	l.Raw = raw
	return l, err
}

// logs reads stored log lines after seq since.
func (c *client) logs(ctx context.Context, id string, since int64, limit int) (logPage, error) {
	q := url.Values{"since": {strconv.FormatInt(since, 10)}, "limit": {strconv.Itoa(limit)}}
	var p logPage
	_, _, err := c.do(ctx, http.MethodGet, genPath(id, "/preview/logs?"+q.Encode()), "", nil, nil, &p)
	return p, err
}

// request sends one request to the running app, authorised by a session token.
func (c *client) request(ctx context.Context, id, sessionToken string, r appRequest) (appResponse, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return appResponse{}, err
	}
	var out appResponse
	h := http.Header{"X-Preview-Token": {sessionToken}}
	_, raw, err := c.do(ctx, http.MethodPost, genPath(id, "/preview/request"), "application/json", bytes.NewReader(body), h, &out)
	out.Raw = raw
	return out, err
}

// openLogStream opens the SSE log stream, resuming after seq lastID when it
// is positive. The caller closes the body.
func (c *client) openLogStream(ctx context.Context, id string, lastID int64) (*http.Response, error) {
	h := http.Header{"Accept": {"text/event-stream"}}
	if lastID > 0 {
		h.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	resp, err := c.send(ctx, http.MethodGet, genPath(id, "/preview/logs/stream"), "", nil, h)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	return resp, nil
}

// maxAnswer bounds an API answer read into memory.
const maxAnswer = 64 << 20

// do sends a request and decodes a 2xx JSON answer into out (when not nil).
// It returns the HTTP status and the raw answer.
func (c *client) do(ctx context.Context, method, path, contentType string, body io.Reader, h http.Header, out any) (int, json.RawMessage, error) {
	resp, err := c.send(ctx, method, path, contentType, body, h)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, nil, readAPIError(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, nil, c.transportError(ctx, err)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return resp.StatusCode, raw, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, raw, fmt.Errorf("previewd sent an answer that is not the expected JSON: %w", err)
	}
	return resp.StatusCode, raw, nil
}

// send sends a request with the bearer token.
func (c *client) send(ctx context.Context, method, path, contentType string, body io.Reader, h http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "previewctl")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	return resp, nil
}

// transportError tells an interrupted call from a server that cannot be reached.
func (c *client) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &unreachableError{url: c.base.String(), err: err}
}

// readAPIError decodes an error answer. Answers that are not in the API's
// format (a proxy in front of previewd, say) still become an apiError.
func readAPIError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var body struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error != nil {
		body.Error.Status = resp.StatusCode
		if body.Error.RequestID == "" {
			body.Error.RequestID = resp.Header.Get("X-Request-ID")
		}
		return body.Error
	}
	e := &apiError{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-ID")}
	if text := strings.TrimSpace(string(raw)); text != "" && len(text) < 200 && !strings.ContainsAny(text, "<{") {
		e.Message = fmt.Sprintf("previewd answered %d %s: %s", resp.StatusCode, http.StatusText(resp.StatusCode), text)
	}
	return e
}
