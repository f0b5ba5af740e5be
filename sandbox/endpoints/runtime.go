package endpoints

import (
	"fmt"
	"regexp"
	"strings"
)

// SourceRuntime marks an Endpoint the running app's own route table lists.
const SourceRuntime = "runtime"

// Route is one row of a running app's own route table, as the framework
// holds it: a method (or ALL) and a path with {name} for parameters.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// pathParam finds the {name} parameters of a path.
var pathParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// MergeRuntime checks listed endpoints against the running app's own route
// table. Every route of the table is listed with source "runtime": one the
// list has already keeps what was found of it (file, line, parameters,
// summary); for a route of a router whose mount point static parsing did
// not find ("mounted": false), the one listed row of the same method whose
// path ends the route's path is taken as that route. A route the list lacks
// is added with its path parameters. A listed endpoint the table does not
// have is kept with "confirmed": false. At most lim.MaxRoutes are listed;
// the Result says when some were left out.
func MergeRuntime(listed Result, table []Route, lim Limits) Result {
	lim = lim.withDefaults()
	res := Result{Truncated: listed.Truncated, Reasons: append([]string(nil), listed.Reasons...)}
	out := append([]Endpoint(nil), listed.Endpoints...)
	index := map[string]int{}
	for i, e := range out {
		index[e.Method+" "+e.Path] = i
	}
	confirmed := make([]bool, len(out))
	left := 0
	for _, r := range table {
		if i, ok := index[r.Method+" "+r.Path]; ok {
			confirmed[i] = true
			out[i].Source = SourceRuntime
			continue
		}
		if i, ok := unmountedMatch(out, confirmed, r); ok {
			// The static row described this route under a path relative
			// to a mount it could not find: it is this route now.
			confirmed[i] = true
			out[i].Path = r.Path
			out[i].Mounted = nil
			out[i].Source = SourceRuntime
			index[r.Method+" "+r.Path] = i
			continue
		}
		if len(out) >= lim.MaxRoutes {
			left++
			continue
		}
		index[r.Method+" "+r.Path] = len(out)
		out = append(out, runtimeEndpoint(r))
		confirmed = append(confirmed, true)
	}
	for i := range out {
		if !confirmed[i] {
			out[i].Confirmed = new(bool)
		}
	}
	if left > 0 {
		res.Truncated = true
		res.Reasons = append(res.Reasons, fmt.Sprintf("%d routes of the running app's route table left out: the list holds at most %d", left, lim.MaxRoutes))
	}
	res.Endpoints = finish(out)
	return res
}

// unmountedMatch finds the one unconfirmed, unmounted row of r's method
// whose path is a trailing segment run of r's path.
func unmountedMatch(out []Endpoint, confirmed []bool, r Route) (int, bool) {
	found := -1
	for i, e := range out {
		if confirmed[i] || e.Mounted == nil || *e.Mounted || e.Method != r.Method {
			continue
		}
		// Paths begin with "/", so a suffix ends at a segment boundary.
		if !strings.HasPrefix(e.Path, "/") || !strings.HasSuffix(r.Path, e.Path) || len(r.Path) == len(e.Path) {
			continue
		}
		if found >= 0 {
			return 0, false // ambiguous: keep both rows as they are
		}
		found = i
	}
	return found, found >= 0
}

func runtimeEndpoint(r Route) Endpoint {
	e := Endpoint{Method: r.Method, Path: r.Path, Source: SourceRuntime}
	for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
		e.Params = append(e.Params, Param{Name: m[1], In: "path", Type: "string", Required: true})
	}
	return e
}
