// Package endpoints lists the HTTP routes of a generated app from its source
// files alone, resolving them across modules the way each framework does:
// FastAPI routers and include_router, Flask blueprints and app factories,
// Django urlconfs, include chains and REST framework routers, Express
// routers mounted with use.
//
// Sources are parsed with tree-sitter through github.com/smacker/go-tree-sitter,
// which carries both the Python and the JavaScript grammar and builds with
// cgo. The official tree-sitter Go module has a Python grammar module but no
// JavaScript one that resolves, so this package uses smacker's. It needs
// cgo; without it Extract answers ErrNoParser.
//
// Names are followed through assignments, imports (relative, absolute,
// from packages below the generation root), attributes, calls of project
// functions (factories, register(app) helpers) and for loops over literal
// lists. What only running the code decides is not followed: modules
// imported by a computed name, route files found by listing a directory.
// MergeOpenAPI fills those in for a running FastAPI app.
//
// What the code declares is what is listed: Flask's implicit HEAD and
// OPTIONS, and the OPTIONS every Django class-based view answers, are left
// out. A route that answers every method (Express all(), a Django function
// view that checks no method) is one row with method "ALL". Paths use
// {name} for parameters; a regular expression that has no such form is
// reported as written.
package endpoints

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/previewd/previewd/sandbox/framework"
)

// Param is one parameter of an endpoint.
type Param struct {
	Name     string `json:"name"`
	In       string `json:"in"` // "path", "query" or "body"
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

// Endpoint is one method on one path.
type Endpoint struct {
	Method      string   `json:"method"`
	Path        string   `json:"path"` // parameters as {name}, whatever the framework
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Params      []Param  `json:"params"`
	Tags        []string `json:"tags"`
	File        string   `json:"file"` // the defining file, relative to the generation
	Line        int      `json:"line"` // 1-based line of the route declaration
	Source      string   `json:"source"`
	// Mounted is false for a router whose mount point was not found: its
	// paths are relative to wherever it is mounted, not to the app's root.
	// Nil (left out of JSON) for every other row.
	Mounted *bool `json:"mounted,omitempty"`
	// Confirmed is false for a row the running app's own route table does
	// not have (see MergeRuntime). Nil (left out of JSON) otherwise.
	Confirmed *bool `json:"confirmed,omitempty"`
}

// SourceStatic and SourceOpenAPI say where an Endpoint was found: in the
// source files, or only in the running app's OpenAPI document (see also
// SourceRuntime).
const (
	SourceStatic  = "static"
	SourceOpenAPI = "openapi"
)

// MethodAll is the method of a route that answers every method.
const MethodAll = "ALL"

// ErrNoParser is returned by Extract in a binary built without cgo, which
// has no tree-sitter.
var ErrNoParser = errors.New("endpoint extraction needs a build with cgo")

// Extract lists the endpoints of a generation written with fw. files maps
// relative, '/'-separated paths to contents. The endpoints are sorted by
// path, then method, with one row per method and path. The work is bounded
// by lim (see Limits) and by ctx; what a bound left out is said in the
// Result, and what was found up to it is listed.
func Extract(ctx context.Context, fw framework.Name, files map[string][]byte, lim Limits) (Result, error) {
	if !parserAvailable {
		return Result{}, ErrNoParser
	}
	b := newBudget(ctx, lim)
	var found []Endpoint
	switch fw {
	case framework.FastAPI, framework.Flask, framework.Django:
		p := newPyProject(files, b)
		switch fw {
		case framework.FastAPI:
			found = extractFastAPI(p)
		case framework.Flask:
			found = extractFlask(p)
		default:
			found = extractDjango(p)
		}
	case framework.Express:
		p := newJSProject(files, b)
		found = extractExpress(p)
	default:
		return Result{}, fmt.Errorf("extract endpoints for %q: %w", fw, framework.ErrUnknown)
	}
	for i := range found {
		found[i].Source = SourceStatic
	}
	reasons := b.reasons()
	return Result{Endpoints: finish(found), Truncated: len(reasons) > 0, Reasons: reasons}, nil
}

// methodRank orders methods the way people read an API.
var methodRank = map[string]int{
	"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4, "OPTIONS": 5, "HEAD": 6,
}

func lessMethod(a, b string) bool {
	ra, oka := methodRank[a]
	rb, okb := methodRank[b]
	switch {
	case oka && okb:
		return ra < rb
	case oka != okb:
		return oka
	}
	return a < b
}

// finish merges duplicate method+path rows (the first definition wins, the
// others fill what it lacks), makes params and tags non-nil and sorts.
func finish(eps []Endpoint) []Endpoint {
	type key struct{ method, path string }
	index := map[key]int{}
	out := make([]Endpoint, 0, len(eps))
	for _, e := range eps {
		k := key{e.Method, e.Path}
		if i, ok := index[k]; ok {
			out[i] = fill(out[i], e)
			continue
		}
		index[k] = len(out)
		out = append(out, e)
	}
	for i := range out {
		if out[i].Params == nil {
			out[i].Params = []Param{}
		}
		if out[i].Tags == nil {
			out[i].Tags = []string{}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return lessMethod(out[i].Method, out[j].Method)
	})
	return out
}

// fill completes dst with what src knows and dst does not. dst's slices
// may be shared (one signature serves several methods), so they are copied.
func fill(dst, src Endpoint) Endpoint {
	dst.Params = append([]Param(nil), dst.Params...)
	dst.Tags = append([]string(nil), dst.Tags...)
	if dst.Summary == "" {
		dst.Summary = src.Summary
	}
	if dst.Description == "" {
		dst.Description = src.Description
	}
	dst.Tags = union(dst.Tags, src.Tags)
	for _, p := range src.Params {
		i := paramIndex(dst.Params, p.Name, p.In)
		if i < 0 {
			dst.Params = append(dst.Params, p)
			continue
		}
		if dst.Params[i].Type == "" {
			dst.Params[i].Type = p.Type
		}
	}
	return dst
}

func paramIndex(ps []Param, name, in string) int {
	for i, p := range ps {
		if p.Name == name && p.In == in {
			return i
		}
	}
	return -1
}

// union appends to a the strings of b it lacks, keeping order.
func union(a, b []string) []string {
	for _, s := range b {
		if !contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// splitDoc turns a docstring or comment into a summary (its first line)
// and a description (the rest), dedented like Python's inspect.cleandoc.
func splitDoc(doc string) (summary, description string) {
	lines := strings.Split(strings.ReplaceAll(doc, "\r\n", "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t")
	}
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	if len(lines) == 0 {
		return "", ""
	}
	summary = strings.TrimSpace(lines[0])
	rest := lines[1:]
	indent := -1
	for _, l := range rest {
		if t := strings.TrimLeft(l, " \t"); t != "" {
			if n := len(l) - len(t); indent < 0 || n < indent {
				indent = n
			}
		}
	}
	for i, l := range rest {
		if len(l) >= indent && indent > 0 {
			rest[i] = l[indent:]
		}
	}
	return summary, strings.TrimSpace(strings.Join(rest, "\n"))
}

// objectKey names a framework object (an app, a router, a blueprint) by
// the call that created it.
type objectKey struct {
	path string
	at   uint32
}

// upper upper-cases method names in place.
func upper(list []string) []string {
	for i, s := range list {
		list[i] = strings.ToUpper(s)
	}
	return list
}

// pathParams returns the names of the {name} parameters of a normalised path.
func pathParams(p string) []string {
	var names []string
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			return names
		}
		names = append(names, p[i+1:i+j])
		p = p[i+j+1:]
	}
}
