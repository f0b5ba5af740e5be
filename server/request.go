package server

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
)

// appRequest is the body of POST /request: one request to send to the app.
type appRequest struct {
	Method       string              `json:"method"`
	Path         string              `json:"path"`
	Query        map[string][]string `json:"query"`
	Headers      map[string]string   `json:"headers"`
	Body         string              `json:"body"`
	BodyEncoding string              `json:"body_encoding"`
}

var (
	errPreviewNotRunning = &apiError{status: http.StatusConflict, code: "preview_not_running", message: "the preview is not running"}
	errBadPreviewToken   = &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "X-Preview-Token must be a live session token of this generation's preview"}
	errUpstreamTimeout   = &apiError{status: http.StatusGatewayTimeout, code: "upstream_timeout", message: "the app did not answer within the request timeout"}
	errUpstream          = &apiError{status: http.StatusBadGateway, code: "upstream_error", message: "the app refused or dropped the connection"}
)

// headersSetByPreviewd are not taken from the caller: the transport sets them,
// they concern only the hop to the app, or they name the client's address,
// which previewd sets from the connection as the browser proxy does.
var headersSetByPreviewd = map[string]bool{
	"Connection": true, "Content-Length": true, "Transfer-Encoding": true, "Te": true, "Trailer": true,
	"Upgrade": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authorization": true,
	"X-Real-Ip": true, "X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true, "Forwarded": true,
}

// request sends one request to the generation's running preview and answers
// with the app's response, whatever its status.
func (s *Server) request(c *gin.Context) {
	g, ok := s.generation(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	tok := c.GetHeader("X-Preview-Token")
	if tok == "" {
		s.abort(c, errBadPreviewToken)
		return
	}
	tokenHash := sandbox.HashToken(tok)
	p, err := s.store.SessionPreview(ctx, tokenHash)
	if errors.Is(err, db.ErrNotFound) || err == nil && p.GenerationID != g.ID {
		s.abort(c, errBadPreviewToken)
		return
	}
	if err != nil {
		s.abort(c, err)
		return
	}
	if p.Status != db.StatusRunning {
		s.abort(c, errPreviewNotRunning)
		return
	}

	var body appRequest
	// Room for a body of maxProxyRequestBody in base64, and the rest of the JSON.
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxProxyRequestBody*4/3+1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		s.abort(c, jsonError(err))
		return
	}
	out, err := s.appRequest(ctx, p, body)
	if err != nil {
		s.abort(c, err)
		return
	}
	if ip, _, err := net.SplitHostPort(c.Request.RemoteAddr); err == nil {
		out.Header.Set("X-Forwarded-For", ip)
		out.Header.Set("X-Real-IP", ip)
	}
	s.proxy.touch(ctx, p.ID, tokenHash)

	// The timeout covers reading the body too.
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	start := time.Now()
	resp, err := s.proxy.client.Do(out.WithContext(ctx))
	if err != nil {
		s.abort(c, s.proxy.countError(upstreamError(err)))
		return
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxProxyBody+1))
	if err != nil {
		s.abort(c, s.proxy.countError(upstreamError(err)))
		return
	}
	duration := time.Since(start)
	s.proxy.metrics.requests.WithLabelValues(strconv.Itoa(resp.StatusCode)).Inc()
	s.proxy.metrics.duration.Observe(duration.Seconds())

	truncated := int64(len(raw)) > s.cfg.MaxProxyBody
	if truncated {
		raw = raw[:s.cfg.MaxProxyBody]
	}
	text, encoding := string(raw), "utf-8"
	if !utf8.Valid(raw) {
		text, encoding = base64.StdEncoding.EncodeToString(raw), "base64"
	}
	headers := resp.Header
	if headers == nil {
		headers = http.Header{}
	}
	c.JSON(http.StatusOK, gin.H{
		"status_code":   resp.StatusCode,
		"headers":       headers,
		"body":          text,
		"body_encoding": encoding,
		"duration_ms":   float64(duration.Microseconds()) / 1000,
		"truncated":     truncated,
	})
}

// appRequest validates the caller's request and builds it for preview p,
// bounded by the request timeout.
func (s *Server) appRequest(ctx context.Context, p db.Preview, r appRequest) (*http.Request, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	if !isToken(method) || len(method) > 32 || method == http.MethodConnect {
		return nil, badRequest(fmt.Sprintf("method %q is not a valid HTTP method", method))
	}
	if !strings.HasPrefix(r.Path, "/") || strings.ContainsFunc(r.Path, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '#' }) {
		return nil, badRequest("path must start with / and contain no spaces, control characters or #")
	}
	// The upstream's address comes first, so no path can name another host.
	u, err := url.Parse(s.upstream(p).String() + r.Path)
	if err != nil || u.Host != s.upstream(p).Host {
		return nil, badRequest("path is not a valid URL path")
	}
	if len(r.Query) > 0 {
		q := u.Query()
		for k, vs := range r.Query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	var body []byte
	switch r.BodyEncoding {
	case "", "utf-8":
		body = []byte(r.Body)
	case "base64":
		if body, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			return nil, badRequest("body is not valid base64")
		}
	default:
		return nil, badRequest(`body_encoding must be "utf-8" or "base64"`)
	}
	if len(body) > maxProxyRequestBody {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: "payload_too_large", message: "the request body is too large"}
	}
	header := http.Header{}
	host := ""
	for k, v := range r.Headers {
		if !isToken(k) {
			return nil, badRequest(fmt.Sprintf("header name %q is not valid", k))
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, badRequest(fmt.Sprintf("header %s contains CR, LF or NUL", k))
		}
		k = http.CanonicalHeaderKey(k)
		switch {
		case headersSetByPreviewd[k]:
		case k == "Host":
			host = v
		default:
			header.Add(k, v)
		}
	}
	out, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, badRequest("the request cannot be built: check method and path")
	}
	out.Header = header
	if host != "" {
		out.Host = host
	}
	if len(body) == 0 {
		out.Body, out.ContentLength = http.NoBody, 0
	}
	return out, nil
}

// upstreamError classifies a failure to get the app's answer.
func upstreamError(err error) *apiError {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return errUpstreamTimeout
	}
	return errUpstream
}

func (p *proxy) countError(ae *apiError) *apiError {
	p.metrics.requests.WithLabelValues(strconv.Itoa(ae.status)).Inc()
	return ae
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
