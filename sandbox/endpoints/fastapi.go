package endpoints

import (
	"strings"
)

// FastAPI: apps and APIRouters are the objects FastAPI(...) and
// APIRouter(prefix=, tags=) return; routes are decorators on them;
// include_router(router, prefix=, tags=) copies a router's routes into
// another behind the other's own prefix, so a route's path is, from the
// app down, each router's prefix and the prefix it was included with, then
// the route's own path.

// faRouter is one FastAPI() or APIRouter() object.
type faRouter struct {
	isApp    bool
	prefix   string
	tags     []string
	routes   []faRoute
	includes []faInclude
	included bool
}

type faInclude struct {
	child  *faRouter
	prefix string
	tags   []string
}

// faRoute is one route declaration; its path is behind its router's prefix.
type faRoute struct {
	methods     []string
	path        string
	handler     pyValue // pyFunc, or pyUnknown when it cannot be followed
	file        *pyFile
	line        int
	summary     string
	description string
	tags        []string
}

type fastAPI struct {
	p       *pyProject
	routers map[objectKey]*faRouter
	order   []*faRouter // in the order they were first seen, for stable output
	models  *pyModels
}

var faRouteMethods = map[string]bool{
	"get": true, "post": true, "put": true, "patch": true, "delete": true,
	"options": true, "head": true, "trace": true,
}

func extractFastAPI(p *pyProject) []Endpoint {
	fa := &fastAPI{p: p, routers: map[objectKey]*faRouter{}, models: newPyModels(p)}
	p.walkStatements(fa.statement)
	var out []Endpoint
	hasApp := false
	for _, r := range fa.order {
		if r.isApp && !r.included {
			hasApp = true
			out = fa.emit(out, r, "", nil, map[*faRouter]bool{})
		}
	}
	if hasApp {
		// With an app found, a router it never includes serves nothing
		// (MergeOpenAPI adds what an include the evaluator could not follow
		// serves).
		return out
	}
	// No app: the routers nobody includes are listed, marked as not
	// mounted, since their paths are relative to an include not found.
	for _, r := range fa.order {
		if r.isApp || r.included {
			continue
		}
		from := len(out)
		out = fa.emit(out, r, "", nil, map[*faRouter]bool{})
		for i := range out[from:] {
			out[from+i].Mounted = new(bool)
		}
	}
	return out
}

func (fa *fastAPI) statement(s *pyStmt) {
	if s.def != nil {
		handler := pyValue{kind: pyFunc, node: s.def, scope: pyScope{file: s.scope.file}}
		for _, d := range s.decorators {
			fa.decorator(d, handler, s.scope)
		}
		return
	}
	switch s.call.method {
	case "include_router":
		for _, scope := range fa.p.iterations(s.scope) {
			fa.include(s.call, scope)
		}
	case "add_api_route":
		for _, scope := range fa.p.iterations(s.scope) {
			fa.addAPIRoute(s.call, scope)
		}
	case "mount":
		for _, scope := range fa.p.iterations(s.scope) {
			fa.mount(s.call, scope)
		}
	}
}

// router is the FastAPI or APIRouter object expr evaluates to, or nil.
func (fa *fastAPI) router(expr *node, s pyScope) *faRouter {
	v := fa.p.eval(expr, s, 0)
	if v.kind != pyObject {
		return nil
	}
	ctor := lastName(v.name)
	if ctor != "FastAPI" && ctor != "APIRouter" {
		return nil
	}
	key := objectKey{v.scope.file.path, v.node.StartByte()}
	if r, ok := fa.routers[key]; ok {
		return r
	}
	r := &faRouter{isApp: ctor == "FastAPI"}
	if prefix, ok := fa.p.str(arg(v.scope.file, v.node, -1, "prefix"), v.scope, 0); ok {
		r.prefix = prefix
	}
	r.tags = fa.p.strs(arg(v.scope.file, v.node, -1, "tags"), v.scope)
	fa.routers[key] = r
	fa.order = append(fa.order, r)
	return r
}

func (fa *fastAPI) decorator(d pyCall, handler pyValue, s pyScope) {
	if !faRouteMethods[d.method] && d.method != "api_route" {
		return
	}
	r := fa.router(d.receiver, s)
	if r == nil {
		return
	}
	methods := []string{strings.ToUpper(d.method)}
	if d.method == "api_route" {
		methods = upper(fa.p.strs(arg(s.file, d.node, -1, "methods"), s))
		if len(methods) == 0 {
			methods = []string{"GET"}
		}
	}
	fa.addRoute(r, d.node, methods, handler, s)
}

// addAPIRoute reads router.add_api_route(path, endpoint, methods=[...]).
func (fa *fastAPI) addAPIRoute(c pyCall, s pyScope) {
	call := c.node
	r := fa.router(c.receiver, s)
	if r == nil {
		return
	}
	methods := upper(fa.p.strs(arg(s.file, call, -1, "methods"), s))
	if len(methods) == 0 {
		methods = []string{"GET"}
	}
	handler := fa.p.eval(arg(s.file, call, 1, "endpoint"), s, 0)
	fa.addRoute(r, call, methods, handler, s)
}

func (fa *fastAPI) addRoute(r *faRouter, call *node, methods []string, handler pyValue, s pyScope) {
	p := fa.p
	path, ok := p.str(arg(s.file, call, 0, "path"), s, 0)
	if !ok {
		return
	}
	route := faRoute{methods: methods, path: path, handler: handler, file: s.file, line: line(call)}
	if handler.kind == pyFunc {
		route.summary, route.description = splitDoc(docOf(handler))
	}
	if v, ok := p.str(arg(s.file, call, -1, "summary"), s, 0); ok {
		route.summary = v
	}
	if v, ok := p.str(arg(s.file, call, -1, "description"), s, 0); ok {
		route.description = v
	}
	// FastAPI puts the router's tags before the decorator's.
	route.tags = union(append([]string(nil), r.tags...), p.strs(arg(s.file, call, -1, "tags"), s))
	r.routes = append(r.routes, route)
}

// include reads parent.include_router(child, prefix=..., tags=[...]).
func (fa *fastAPI) include(c pyCall, s pyScope) {
	call := c.node
	parent := fa.router(c.receiver, s)
	child := fa.router(arg(s.file, call, 0, "router"), s)
	if parent == nil || child == nil {
		return
	}
	prefix, _ := fa.p.str(arg(s.file, call, -1, "prefix"), s, 0)
	tags := fa.p.strs(arg(s.file, call, -1, "tags"), s)
	parent.includes = append(parent.includes, faInclude{child: child, prefix: prefix, tags: tags})
	child.included = true
}

// mount reads parent.mount(path, app): Starlette serves the sub-app (or
// router) under path, so its routes are listed behind it, like an include.
// Anything else mounted (StaticFiles, a WSGI app) has no routes to list.
func (fa *fastAPI) mount(c pyCall, s pyScope) {
	call := c.node
	parent := fa.router(c.receiver, s)
	child := fa.router(arg(s.file, call, 1, "app"), s)
	if parent == nil || child == nil || parent == child {
		return
	}
	path, ok := fa.p.str(arg(s.file, call, 0, "path"), s, 0)
	if !ok {
		return
	}
	parent.includes = append(parent.includes, faInclude{child: child, prefix: strings.TrimRight(path, "/")})
	child.included = true
}

func (fa *fastAPI) emit(out []Endpoint, r *faRouter, prefix string, tags []string, seen map[*faRouter]bool) []Endpoint {
	if seen[r] || fa.p.budget.full() || !fa.p.budget.visit() {
		return out
	}
	seen[r] = true
	defer delete(seen, r)
	for _, route := range r.routes {
		if fa.p.budget.full() {
			return out
		}
		path := normaliseBraces(prefix + r.prefix + route.path)
		params := fa.params(route.handler, path)
		for _, m := range route.methods {
			out = fa.p.budget.add(out, Endpoint{
				Method: m, Path: path, Summary: route.summary, Description: route.description,
				Params: params, Tags: union(append([]string(nil), tags...), route.tags),
				File: route.file.path, Line: route.line,
			})
		}
	}
	for _, inc := range r.includes {
		// Including copies routes with this router's tags, then the include's.
		childTags := union(union(append([]string(nil), tags...), r.tags), inc.tags)
		out = fa.emit(out, inc.child, prefix+r.prefix+inc.prefix, childTags, seen)
	}
	return out
}

// normaliseBraces drops Starlette convertors: {path:path} is {path}.
func normaliseBraces(p string) string {
	if !strings.Contains(p, ":") {
		return p
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '{')
		j := strings.IndexByte(p[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(p)
			return b.String()
		}
		name, _, _ := strings.Cut(p[i+1:i+j], ":")
		b.WriteString(p[:i] + "{" + name + "}")
		p = p[i+j+1:]
	}
}
