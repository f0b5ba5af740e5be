package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/framework"
	"github.com/previewd/previewd/server/upload"
)

// generationJSON is a generation as the API shows it.
type generationJSON struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Framework  string         `json:"framework"`
	Entrypoint string         `json:"entrypoint"`
	FileCount  int            `json:"file_count"`
	TotalBytes int64          `json:"total_bytes"`
	CreatedAt  time.Time      `json:"created_at"`
	Revision   int            `json:"revision"`
	Files      []fileInfoJSON `json:"files,omitempty"`
}

type fileInfoJSON struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func toGenerationJSON(g db.Generation) generationJSON {
	return generationJSON{ID: g.ID, Name: g.Name, Framework: g.Framework, Entrypoint: g.Entrypoint,
		FileCount: g.FileCount, TotalBytes: g.TotalBytes, CreatedAt: g.CreatedAt.UTC(), Revision: g.Revision}
}

const maxNameLen = 200

// createGeneration stores an uploaded generation: a JSON body, or a zip or tar
// archive with the name in ?name=. Nothing is stored unless all of it is valid.
func (s *Server) createGeneration(c *gin.Context) {
	lim := s.limits()
	body, err := readUpload(c, lim)
	if err != nil {
		s.abort(c, err)
		return
	}
	files, want, name := body.files, body.framework, strings.TrimSpace(body.name)
	switch {
	case name == "":
		name = "untitled"
	case len(name) > maxNameLen || !utf8.ValidString(name) || strings.ContainsRune(name, 0):
		s.abort(c, badRequest(fmt.Sprintf("name must be valid UTF-8 of at most %d bytes", maxNameLen)))
		return
	}
	if want == "" {
		want = "auto"
	}
	byPath := make(map[string][]byte, len(files))
	rows := make([]db.File, len(files))
	var total int64
	for i, f := range files {
		byPath[f.Path] = f.Content
		rows[i] = db.File{Path: f.Path, Content: f.Content}
		total += int64(len(f.Content))
	}
	plan, err := framework.Detect(byPath, framework.Name(want))
	if err != nil {
		s.abort(c, err)
		return
	}
	g := db.Generation{ID: uuid.NewString(), Owner: user(c), Name: name, Framework: string(plan.Framework),
		Entrypoint: plan.Entrypoint, FileCount: len(files), TotalBytes: total}
	if err := s.store.CreateGeneration(c.Request.Context(), &g, rows, s.cfg.Quota); err != nil {
		s.abort(c, err)
		return
	}
	c.JSON(http.StatusCreated, toGenerationJSON(g))
}

var errMediaType = &apiError{status: http.StatusUnsupportedMediaType, code: "invalid_request",
	message: "Content-Type must be application/json, application/zip, application/x-tar or application/gzip"}

// isArchive reports a media type of the archive bodies an upload takes.
func isArchive(mediaType string) bool {
	switch mediaType {
	case "application/zip", "application/x-zip-compressed", "application/x-tar", "application/gzip",
		"application/x-gzip", "application/x-gtar", "application/tar+gzip":
		return true
	}
	return false
}

// readJSON decodes the request's JSON body, one document of known fields
// carrying at most lim.MaxBytes of file contents, into v.
func readJSON(c *gin.Context, lim upload.Limits, v any) error {
	// base64 inflates content by 4/3; the decoded total is checked exactly later.
	body := http.MaxBytesReader(c.Writer, c.Request.Body, lim.MaxBytes*4/3+1<<20)
	raw, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD, and a
	// path must then be refused rather than renamed.
	if !utf8.Valid(raw) {
		return badRequest("the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Decode stops at the end of the first value; anything but white
	// space after it means the body is not the one document it claims.
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest(fmt.Sprintf("the request body has data after its JSON document, which ends at byte %d", end))
	}
	return nil
}

// jsonError describes a JSON body that could not be decoded.
func jsonError(err error) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("the request body is empty")
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("the request body is not valid JSON (at byte %d)", syntax.Offset))
	case errors.As(err, &typeErr):
		return badRequest(fmt.Sprintf("field %q has the wrong type", typeErr.Field))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return badRequest(strings.TrimPrefix(err.Error(), "json: "))
	default:
		return badRequest("the request body is not valid JSON")
	}
}

const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// listGenerations lists the caller's generations, newest first.
func (s *Server) listGenerations(c *gin.Context) {
	limit := defaultPageSize
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			s.abort(c, badRequest(fmt.Sprintf("limit must be a number from 1 to %d", maxPageSize)))
			return
		}
		limit = n
	}
	var after *db.Cursor
	if v := c.Query("cursor"); v != "" {
		cur, err := decodeCursor(v)
		if err != nil {
			s.abort(c, badRequest("cursor is not one this server gave out"))
			return
		}
		after = &cur
	}
	gens, err := s.store.Generations(c.Request.Context(), user(c), after, limit+1)
	if err != nil {
		s.abort(c, err)
		return
	}
	var next *string
	if len(gens) > limit {
		gens = gens[:limit]
		last := gens[limit-1]
		cur := encodeCursor(db.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
		next = &cur
	}
	out := make([]generationJSON, len(gens))
	for i, g := range gens {
		out[i] = toGenerationJSON(g)
	}
	c.JSON(http.StatusOK, gin.H{"generations": out, "next_cursor": next})
}

func encodeCursor(c db.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + ":" + c.ID))
}

func decodeCursor(s string) (db.Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return db.Cursor{}, err
	}
	ts, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return db.Cursor{}, errors.New("malformed cursor")
	}
	micros, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return db.Cursor{}, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return db.Cursor{}, err
	}
	return db.Cursor{CreatedAt: time.UnixMicro(micros), ID: id}, nil
}

// generation loads the caller's generation named in the path; another user's
// generation is not found, exactly like one that does not exist.
func (s *Server) generation(c *gin.Context) (db.Generation, bool) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		s.abort(c, &apiError{status: http.StatusNotFound, code: "not_found", message: "generation not found"})
		return db.Generation{}, false
	}
	g, err := s.store.Generation(c.Request.Context(), user(c), id)
	if errors.Is(err, db.ErrNotFound) {
		s.abort(c, &apiError{status: http.StatusNotFound, code: "not_found", message: "generation not found"})
		return db.Generation{}, false
	}
	if err != nil {
		s.abort(c, err)
		return db.Generation{}, false
	}
	return g, true
}

func (s *Server) getGeneration(c *gin.Context) {
	g, ok := s.generation(c)
	if !ok {
		return
	}
	infos, err := s.store.GenerationFileInfos(c.Request.Context(), g.ID, g.Revision)
	if err != nil {
		s.abort(c, err)
		return
	}
	out := toGenerationJSON(g)
	out.Files = make([]fileInfoJSON, len(infos))
	for i, f := range infos {
		out.Files[i] = fileInfoJSON{Path: f.Path, Size: f.Size, SHA256: f.SHA256}
	}
	c.Header("ETag", etag(g.Revision))
	c.JSON(http.StatusOK, out)
}

// deleteGeneration stops the generation's preview, then deletes it with its
// files and preview history; launches of it meanwhile find it gone.
func (s *Server) deleteGeneration(c *gin.Context) {
	g, ok := s.generation(c)
	if !ok {
		return
	}
	if err := s.sandbox.DeleteGeneration(c.Request.Context(), user(c), g.ID); err != nil {
		s.abort(c, err)
		return
	}
	s.endpoints.forget(endpointKey(g))
	c.Status(http.StatusNoContent)
}

// uploadBody is what an upload's body says: its files, checked, and the
// name and framework it asks for.
type uploadBody struct {
	files           []upload.File
	name, framework string
}

// readUpload reads a JSON body ({"name", "framework", "files"}) or a zip or
// tar archive (name and framework in ?name= and ?framework=) under lim.
func readUpload(c *gin.Context, lim upload.Limits) (uploadBody, error) {
	mediaType, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch {
	case mediaType == "application/json" || mediaType == "":
		var req struct {
			Name      string            `json:"name"`
			Framework string            `json:"framework"`
			Files     []upload.JSONFile `json:"files"`
		}
		if err := readJSON(c, lim, &req); err != nil {
			return uploadBody{}, err
		}
		files, err := upload.FromJSON(req.Files, lim)
		return uploadBody{files: files, name: req.Name, framework: req.Framework}, err
	case isArchive(mediaType):
		files, err := upload.FromArchive(c.Request.Body, mediaType, lim)
		return uploadBody{files: files, name: c.Query("name"), framework: c.Query("framework")}, err
	}
	return uploadBody{}, errMediaType
}
