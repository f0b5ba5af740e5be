package server

import (
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/framework"
	"github.com/previewd/previewd/server/upload"
)

// revisionJSON is a revision as GET …/revisions lists it.
type revisionJSON struct {
	Revision   int       `json:"revision"`
	CreatedAt  time.Time `json:"created_at"`
	Framework  string    `json:"framework"`
	Entrypoint string    `json:"entrypoint"`
	Added      []string  `json:"added"`
	Modified   []string  `json:"modified"`
	Deleted    []string  `json:"deleted"`
	FileCount  int       `json:"file_count"`
	TotalBytes int64     `json:"total_bytes"`
}

func (s *Server) limits() upload.Limits {
	return upload.Limits{MaxFiles: s.cfg.MaxFiles, MaxBytes: s.cfg.MaxUploadBytes}
}

// patchFiles answers PATCH /generations/:id/files: {"files": [...],
// "delete": [...]} applied to the current revision makes the next one.
func (s *Server) patchFiles(c *gin.Context) {
	start := time.Now()
	g, ok := s.generation(c)
	if !ok {
		return
	}
	base, err := ifMatch(c)
	if err != nil {
		s.abort(c, err)
		return
	}
	if mediaType, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mediaType != "application/json" && mediaType != "" {
		s.abort(c, &apiError{status: http.StatusUnsupportedMediaType, code: "invalid_request",
			message: "Content-Type must be application/json; PUT replaces all files with an archive"})
		return
	}
	lim := s.limits()
	var req struct {
		Files  []upload.JSONFile `json:"files"`
		Delete []string          `json:"delete"`
		Wait   *bool             `json:"wait"`
	}
	if err := readJSON(c, lim, &req); err != nil {
		s.abort(c, err)
		return
	}
	wait, err := waitParam(c)
	if err != nil {
		s.abort(c, err)
		return
	}
	if req.Wait != nil {
		wait = *req.Wait
	}
	if len(req.Files) == 0 && len(req.Delete) == 0 {
		s.abort(c, badRequest(`a patch needs "files" to write or "delete" paths to remove`))
		return
	}
	var written []upload.File
	if len(req.Files) > 0 {
		if written, err = upload.FromJSON(req.Files, lim); err != nil {
			s.abort(c, err)
			return
		}
	}
	writes := make(map[string]bool, len(written))
	for _, f := range written {
		writes[f.Path] = true
	}
	deletes := make(map[string]bool, len(req.Delete))
	for _, p := range req.Delete {
		if err := upload.CheckPath(p); err != nil {
			s.abort(c, err)
			return
		}
		if deletes[p] || writes[p] {
			s.abort(c, badRequest(fmt.Sprintf("path %q is deleted twice, or both written and deleted", clip(p))))
			return
		}
		deletes[p] = true
	}
	change := func(cur db.Generation, current []db.File) (db.Generation, []db.File, error) {
		byPath := make(map[string][]byte, len(current)+len(written))
		for _, f := range current {
			byPath[f.Path] = f.Content
		}
		for _, p := range req.Delete {
			if _, ok := byPath[p]; !ok {
				return db.Generation{}, nil, unprocessable(fmt.Sprintf("cannot delete %q: revision %d has no such file", clip(p), cur.Revision))
			}
			delete(byPath, p)
		}
		for _, f := range written {
			byPath[f.Path] = f.Content
		}
		return s.revisionFiles(cur, byPath, framework.Name(cur.Framework), lim)
	}
	s.applyChange(c, g, base, change, wait, start)
}

// replaceFiles answers PUT /generations/:id/files: a JSON body ({"files",
// "framework"}) or an archive (framework in ?framework=) becomes the next
// revision's whole file set. The framework defaults to the generation's.
func (s *Server) replaceFiles(c *gin.Context) {
	start := time.Now()
	g, ok := s.generation(c)
	if !ok {
		return
	}
	base, err := ifMatch(c)
	if err != nil {
		s.abort(c, err)
		return
	}
	wait, err := waitParam(c)
	if err != nil {
		s.abort(c, err)
		return
	}
	lim := s.limits()
	body, err := readUpload(c, lim)
	if err != nil {
		s.abort(c, err)
		return
	}
	if body.name != "" {
		s.abort(c, badRequest("a revision keeps its generation's name; PUT takes files and a framework only"))
		return
	}
	files, want := body.files, body.framework
	change := func(cur db.Generation, _ []db.File) (db.Generation, []db.File, error) {
		byPath := make(map[string][]byte, len(files))
		for _, f := range files {
			byPath[f.Path] = f.Content
		}
		w := framework.Name(want)
		if want == "" {
			w = framework.Name(cur.Framework)
		}
		return s.revisionFiles(cur, byPath, w, lim)
	}
	s.applyChange(c, g, base, change, wait, start)
}

// revisionFiles checks a new revision's complete file set by every rule of
// an upload, and detects its framework as an upload does.
func (s *Server) revisionFiles(g db.Generation, byPath map[string][]byte, want framework.Name, lim upload.Limits) (db.Generation, []db.File, error) {
	if len(byPath) == 0 {
		return db.Generation{}, nil, unprocessable("the change would leave the generation without files")
	}
	list := make([]upload.File, 0, len(byPath))
	for p, content := range byPath {
		list = append(list, upload.File{Path: p, Content: content})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	list, err := upload.Check(list, lim)
	if err != nil {
		return db.Generation{}, nil, err
	}
	plan, err := framework.Detect(byPath, want)
	if err != nil {
		return db.Generation{}, nil, err
	}
	g.Framework, g.Entrypoint = string(plan.Framework), plan.Entrypoint
	rows := make([]db.File, len(list))
	for i, f := range list {
		rows[i] = db.File{Path: f.Path, Content: f.Content}
	}
	return g, rows, nil
}

// applyChange stores the next revision of g made by change and applies it
// to the generation's running preview (see reloadAnswer).
func (s *Server) applyChange(c *gin.Context, g db.Generation, base int, change db.Change, wait bool, start time.Time) {
	old := g
	g, _, err := s.store.UpdateFiles(c.Request.Context(), user(c), g.ID, base, change, s.cfg.Quota)
	if err != nil {
		s.abort(c, err)
		return
	}
	s.endpoints.forget(endpointKey(old))
	s.reloadAnswer(c, g, wait, start)
}

// listRevisions answers GET /generations/:id/revisions, newest first.
func (s *Server) listRevisions(c *gin.Context) {
	g, ok := s.generation(c)
	if !ok {
		return
	}
	revs, err := s.store.Revisions(c.Request.Context(), g.ID)
	if err != nil {
		s.abort(c, err)
		return
	}
	out := make([]revisionJSON, len(revs))
	for i, r := range revs {
		out[i] = revisionJSON{Revision: r.Revision, CreatedAt: r.CreatedAt.UTC(), Framework: r.Framework,
			Entrypoint: r.Entrypoint, Added: nonNil(r.Added), Modified: nonNil(r.Modified),
			Deleted: nonNil(r.Deleted), FileCount: r.FileCount, TotalBytes: r.TotalBytes}
	}
	c.Header("ETag", etag(g.Revision))
	c.JSON(http.StatusOK, gin.H{"revision": g.Revision, "revisions": out})
}

// ifMatch reads If-Match: the revision a change was made against, as a
// number or an entity tag ("3", W/"3"); 0 when absent or "*".
func ifMatch(c *gin.Context) (int, error) {
	v := strings.TrimSpace(c.GetHeader("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(v, "W/"), `"`))
	if err != nil || n < 1 {
		return 0, badRequest("If-Match must be a revision number, such as 3")
	}
	return n, nil
}

// etag is a revision as an entity tag, which If-Match takes back.
func etag(revision int) string { return `"` + strconv.Itoa(revision) + `"` }

// clip shortens a path for an error message.
func clip(p string) string {
	const maxLen = 80
	if len(p) <= maxLen {
		return p
	}
	return strings.ToValidUTF8(p[:maxLen], "") + "..."
}
