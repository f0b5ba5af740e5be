package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// revised is the answer to a change of a generation's files.
type revised struct {
	Revision  int              `json:"revision"`
	Status    string           `json:"status"`
	Reload    string           `json:"reload"`
	TimingsMS map[string]int64 `json:"timings_ms"`
}

// replaceFiles sends archive as the whole file set of generation id's next
// revision; base, when not 0, is the revision the change was made against.
func (c *client) replaceFiles(ctx context.Context, id, framework string, base int, archive []byte) (revised, json.RawMessage, error) {
	path := genPath(id, "/files")
	if framework != "" {
		path += "?" + url.Values{"framework": {framework}}.Encode()
	}
	var h http.Header
	if base > 0 {
		h = http.Header{"If-Match": {strconv.Itoa(base)}}
	}
	var r revised
	_, raw, err := c.do(ctx, http.MethodPut, path, "application/gzip", bytes.NewReader(archive), h, &r)
	return r, raw, err
}

// patch replaces a generation's files with a folder's, as its next
// revision, and prints the revision's number.
func (a *app) patch(ctx context.Context, args []string) error {
	fs := a.flags("patch")
	framework := fs.String("framework", "", "auto, fastapi, flask, django or express (default: the generation's)")
	base := fs.Int("if-match", 0, "refuse the change unless the generation is at this revision")
	pos, err := a.parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	if *base < 0 {
		return usageErrorf("-if-match must be a revision number")
	}
	id, dir := pos[0], pos[1]
	var buf bytes.Buffer
	st, err := buildArchive(dir, &buf)
	if err != nil {
		return inStep("patch", err)
	}
	r, raw, err := a.client.replaceFiles(ctx, id, *framework, *base, buf.Bytes())
	if err != nil {
		return inStep("patch", err)
	}
	if a.json {
		return printJSON(a.stdout, raw)
	}
	fmt.Fprintf(a.stdout, "Generation %s is at revision %d (%d files, %s): %s.\n", id, r.Revision, st.Files, formatBytes(st.Bytes), revisedLine(r))
	return nil
}
