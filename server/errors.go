package server

import (
	"database/sql/driver"
	"errors"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/sandbox/endpoints"
	"github.com/previewd/previewd/sandbox/framework"
	"github.com/previewd/previewd/server/upload"
)

// apiError is an error with the HTTP status, code and message a client sees.
type apiError struct {
	status  int
	code    string
	message string
	extra   map[string]any // more fields inside "error", e.g. a launch's log tail
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_request", message: msg}
}

func unprocessable(msg string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: "invalid_request", message: msg}
}

var errUnauthorized = &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "a valid bearer token is required"}

// errorKinds maps error kinds to what a client sees. The message of these
// errors is written for people and safe to show; any other error is internal.
var errorKinds = []struct {
	target error
	status int
	code   string
}{
	{db.ErrNotFound, http.StatusNotFound, "not_found"},
	{db.ErrConflict, http.StatusConflict, "conflict"},
	{sandbox.ErrStoppedWhileStarting, http.StatusConflict, "conflict"},
	{sandbox.ErrCapacity, http.StatusServiceUnavailable, "capacity_exhausted"},
	{sandbox.ErrCapsTooHigh, http.StatusUnprocessableEntity, "invalid_request"},
	{sandbox.ErrEngineUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{upload.ErrTooLarge, http.StatusRequestEntityTooLarge, "payload_too_large"},
	{upload.ErrInvalid, http.StatusBadRequest, "invalid_request"},
	{framework.ErrUnknown, http.StatusBadRequest, "invalid_request"},
	{framework.ErrUndetected, http.StatusUnprocessableEntity, "invalid_request"},
	{framework.ErrForeignSource, http.StatusUnprocessableEntity, "invalid_request"},
	{endpoints.ErrNoParser, http.StatusServiceUnavailable, "unavailable"},
}

// toAPIError classifies err for the client.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var le *sandbox.LaunchError
	if errors.As(err, &le) {
		extra := map[string]any{"preview_id": le.PreviewID, "exit_code": le.ExitCode, "oom_killed": le.OOMKilled, "log_tail": nonNil(le.LogTail), "cause": le.Cause}
		if le.Revision != 0 {
			extra["revision"] = le.Revision
		}
		if le.Cause != nil && len(le.Cause.MissingEnv) > 0 {
			extra["missing_env"] = le.Cause.MissingEnv
		}
		return &apiError{status: http.StatusUnprocessableEntity, code: "launch_failed", message: le.Reason, extra: extra}
	}
	var quota *db.QuotaError
	if errors.As(err, &quota) {
		return quotaError(quota)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "payload_too_large", message: "the request body is too large"}
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.target) {
			msg := err.Error()
			if k.target == db.ErrNotFound {
				msg = "not found" // the wrapped text names internal lookups
			}
			return &apiError{status: k.status, code: k.code, message: msg}
		}
	}
	if dependencyDown(err) {
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable", message: "a dependency of previewd is unreachable; try again shortly"}
	}
	return nil
}

// quotaError answers a generation over its owner's quota: 413 when it does
// not fit in the bytes left (a smaller one may), 429 when the owner has
// stored as many generations as allowed (none fits until one is deleted).
func quotaError(q *db.QuotaError) *apiError {
	status := http.StatusTooManyRequests
	if q.Limit == "bytes" {
		status = http.StatusRequestEntityTooLarge
	}
	return &apiError{status: status, code: "quota_exceeded", message: q.Error(),
		extra: map[string]any{"limit": q.Limit, "max": q.Max, "used": q.Used}}
}

// dependencyDown reports a connection failure to PostgreSQL.
func dependencyDown(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) || errors.Is(err, driver.ErrBadConn) || db.Unavailable(err)
}

// abort ends a request with the error body of API.md. Internal errors are
// logged with the request id and shown only as "internal error".
func (s *Server) abort(c *gin.Context, err error) {
	ae := toAPIError(err)
	if ae == nil {
		s.log.Error("internal error", "request_id", requestID(c), "method", c.Request.Method, "route", c.FullPath(), "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: "internal", message: "internal error"}
	}
	body := map[string]any{"code": ae.code, "message": ae.message, "request_id": requestID(c)}
	for k, v := range ae.extra {
		body[k] = v
	}
	c.AbortWithStatusJSON(ae.status, gin.H{"error": body})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
