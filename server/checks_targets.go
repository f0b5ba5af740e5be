package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/previewd/previewd/sandbox/endpoints"
)

const (
	// defaultCheckMax is how many routes the endpoint checks call at most
	// when Config.CheckMax is 0.
	defaultCheckMax = 50
	// checkUUID fills a path parameter that holds a UUID.
	checkUUID = "00000000-0000-4000-8000-000000000001"
)

// checkTarget is one request of the endpoint checks.
type checkTarget struct {
	method string // GET or HEAD
	path   string // as the endpoint list has it, {name} for parameters
	target string // the path sent, parameters filled
	file   string
	line   int
}

// checkTargets picks the routes that are safe to call without data: GET
// and HEAD (a route that answers every method is called with GET), whose
// path previewd can fill, in the list's order, at most max of them. A
// router whose mount point is unknown is left out: its paths are not the
// app's.
func checkTargets(eps []endpoints.Endpoint, max int) []checkTarget {
	var out []checkTarget
	seen := map[string]bool{}
	for _, e := range eps {
		if len(out) >= max {
			break
		}
		method := e.Method
		switch method {
		case http.MethodGet, http.MethodHead:
		case endpoints.MethodAll:
			method = http.MethodGet
		default:
			continue
		}
		if e.Mounted != nil && !*e.Mounted {
			continue
		}
		target, ok := fillPath(e.Path, e.Params)
		if !ok || seen[method+" "+target] {
			continue
		}
		seen[method+" "+target] = true
		out = append(out, checkTarget{method: method, path: e.Path, target: target, file: e.File, line: e.Line})
	}
	return out
}

// fillPath puts a value of each path parameter's declared type in its
// place: integer and number 1, boolean true, a UUID (by type or by a name
// that says so) a fixed UUID, "format" json, anything else "test". A path
// with a pattern previewd cannot fill (a regular expression, a wildcard)
// is not ok.
func fillPath(path string, params []endpoints.Param) (string, bool) {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, `()*^$\[]|+?:<>`) {
		return "", false
	}
	types := map[string]string{}
	for _, p := range params {
		if p.In == "path" {
			types[p.Name] = p.Type
		}
	}
	var b strings.Builder
	rest := path
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return "", false
			}
			b.WriteString(rest)
			return b.String(), true
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 || strings.IndexByte(rest[:i], '}') >= 0 {
			return "", false
		}
		name := rest[i+1 : i+j]
		if name == "" || strings.ContainsAny(name, "{/") {
			return "", false
		}
		b.WriteString(rest[:i])
		b.WriteString(url.PathEscape(paramValue(name, types[name])))
		rest = rest[i+j+1:]
	}
}

// paramValue is the value a path parameter gets.
func paramValue(name, typ string) string {
	lower := strings.ToLower(name)
	switch {
	case typ == "integer" || typ == "number" || typ == "int" || typ == "float":
		return "1"
	case typ == "boolean" || typ == "bool":
		return "true"
	case strings.EqualFold(typ, "uuid") || strings.Contains(lower, "uuid") || strings.Contains(lower, "guid"):
		return checkUUID
	case lower == "format":
		return "json"
	}
	return "test"
}

// checksSummary says in one line how the endpoint checks went: "12
// endpoints: 11 ok, 1 500 at GET /items/{id} — KeyError: 'price' in
// routers/items.py:31". The first failure (no answer or a server error)
// is named; client errors are counted by status.
func checksSummary(checks []endpointCheck) string {
	if len(checks) == 0 {
		return "no endpoints to check"
	}
	ok := 0
	byStatus := map[string]int{}
	var order []string
	var first *endpointCheck
	for i := range checks {
		c := &checks[i]
		if c.Status != nil && *c.Status < 400 {
			ok++
			continue
		}
		key := c.statusKey()
		if byStatus[key] == 0 {
			order = append(order, key)
		}
		byStatus[key]++
		if first == nil && c.failed() {
			first = c
		}
	}
	noun := "endpoints"
	if len(checks) == 1 {
		noun = "endpoint"
	}
	parts := []string{fmt.Sprintf("%d ok", ok)}
	for _, k := range order {
		part := fmt.Sprintf("%d %s", byStatus[k], k)
		if first != nil && k == first.statusKey() {
			if byStatus[k] > 1 {
				part += ", first"
			}
			part += " at " + first.Method + " " + first.Path + first.reason()
		}
		parts = append(parts, part)
	}
	return fmt.Sprintf("%d %s: %s", len(checks), noun, strings.Join(parts, ", "))
}

// statusKey is how checksSummary counts a check that did not pass.
func (c *endpointCheck) statusKey() string {
	if c.Status == nil {
		return "no answer"
	}
	return fmt.Sprint(*c.Status)
}

// reason is " — what went wrong in file:line", or "" when nothing is known.
func (c *endpointCheck) reason() string {
	switch {
	case c.Cause != nil && c.Cause.Kind != "server_error":
		s := " — " + c.Cause.Message
		if c.Cause.File != "" {
			s += " in " + c.Cause.File
			if c.Cause.Line > 0 {
				s += fmt.Sprintf(":%d", c.Cause.Line)
			}
		}
		return s
	case c.Error != nil:
		return " — " + *c.Error
	}
	return ""
}
