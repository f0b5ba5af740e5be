package endpoints

import "strings"

// REST framework routers: router.register(prefix, ViewSet) makes a list
// route and a detail route per viewset, plus one route per @action, as
// rest_framework.routers.SimpleRouter does in version 3.14. DefaultRouter
// adds an API root view and, for every route, a format-suffix variant
// (items.json) whose regex has no {} form and is reported as the regex.

type drfRouter struct {
	isDefault     bool
	trailingSlash string
	registrations []drfRegistration
}

type drfRegistration struct {
	prefix  string
	viewset pyValue
	file    *pyFile
	line    int
}

// drfRoute is one route of a router: its regex, its methods and the
// registration that made it (nil for the API root).
type drfRoute struct {
	regex   string
	methods []djMethod
	reg     *drfRegistration
}

// drfActions are the viewset actions of the list and detail routes, by
// method, in the order endpoints list them.
var (
	drfListActions   = [][2]string{{"get", "list"}, {"post", "create"}}
	drfDetailActions = [][2]string{{"get", "retrieve"}, {"put", "update"}, {"patch", "partial_update"}, {"delete", "destroy"}}
)

// drfViewsetActions lists the actions REST framework's viewsets and
// mixins define.
var drfViewsetActions = map[string][]string{
	"ModelViewSet":         {"list", "create", "retrieve", "update", "partial_update", "destroy"},
	"ReadOnlyModelViewSet": {"list", "retrieve"},
	"ListModelMixin":       {"list"}, "CreateModelMixin": {"create"}, "RetrieveModelMixin": {"retrieve"},
	"UpdateModelMixin": {"update", "partial_update"}, "DestroyModelMixin": {"destroy"},
}

// routers finds every router and what is registered on it, once.
func (dj *django) routers() map[objectKey]*drfRouter {
	if dj.drf != nil {
		return dj.drf
	}
	dj.drf = map[objectKey]*drfRouter{}
	dj.p.walkStatements(func(s *pyStmt) {
		if s.call.method != "register" {
			return
		}
		r := dj.router(s.call.receiver, s.scope)
		prefix, ok := dj.p.str(arg(s.scope.file, s.call.node, 0, "prefix"), s.scope, 0)
		if r == nil || !ok {
			return
		}
		viewset := dj.p.eval(arg(s.scope.file, s.call.node, 1, "viewset"), s.scope, 0)
		r.registrations = append(r.registrations, drfRegistration{prefix, viewset, s.scope.file, line(s.call.node)})
	})
	return dj.drf
}

// router is the DefaultRouter or SimpleRouter expr evaluates to, or nil.
func (dj *django) router(expr *node, s pyScope) *drfRouter {
	v := dj.p.eval(expr, s, 0)
	if v.kind != pyObject {
		return nil
	}
	ctor := lastName(v.name)
	if ctor != "DefaultRouter" && ctor != "SimpleRouter" {
		return nil
	}
	key := objectKey{v.scope.file.path, v.node.StartByte()}
	if r, ok := dj.drf[key]; ok {
		return r
	}
	r := &drfRouter{isDefault: ctor == "DefaultRouter", trailingSlash: "/"}
	if ts := arg(v.scope.file, v.node, 0, "trailing_slash"); nodeType(ts) == "false" {
		r.trailingSlash = ""
	}
	dj.drf[key] = r
	return r
}

// routerURLs is the router whose .urls expr is, or nil.
func (dj *django) routerURLs(expr *node, s pyScope) *drfRouter {
	if nodeType(expr) != "attribute" || s.file.text(field(expr, "attribute")) != "urls" {
		return nil
	}
	dj.routers()
	return dj.router(field(expr, "object"), s)
}

// routerEndpoints lists the endpoints of a router's urls under prefix.
func (dj *django) routerEndpoints(out []Endpoint, r *drfRouter, prefix []djPiece) []Endpoint {
	var routes []drfRoute
	if r.isDefault {
		routes = append(routes, drfRoute{regex: "^$", methods: []djMethod{{method: "GET"}}})
	}
	for i := range r.registrations {
		routes = append(routes, dj.registrationRoutes(r, &r.registrations[i])...)
	}
	if r.isDefault {
		// format_suffix_patterns: the route's regex without its $ and
		// trailing slash, then \.(?P<format>[a-z0-9]+)/?$.
		n := len(routes)
		for _, route := range routes[:n] {
			route.regex = strings.TrimRight(strings.TrimSuffix(route.regex, "$"), "/") + `\.(?P<format>[a-z0-9]+)/?$`
			routes = append(routes, route)
		}
	}
	for _, route := range routes {
		if dj.p.budget.full() {
			return out
		}
		path, types := joinPieces(append(append([]djPiece(nil), prefix...), regexPiece(route.regex)))
		params := pathParamsTyped(path, types)
		for _, m := range route.methods {
			e := Endpoint{Method: m.method, Path: path, Params: params}
			if route.reg != nil {
				e.File, e.Line = route.reg.file.path, route.reg.line
			}
			e.Summary, e.Description = splitDoc(m.doc)
			out = dj.p.budget.add(out, e)
		}
	}
	return out
}

// registrationRoutes lists the list, detail and @action routes of one
// registration, each only when its viewset has an action for it.
func (dj *django) registrationRoutes(r *drfRouter, reg *drfRegistration) []drfRoute {
	actions := map[string]bool{}
	dj.viewsetActions(reg.viewset, actions, 0)
	doc := ""
	if reg.viewset.kind == pyClass {
		doc = docOf(reg.viewset)
	}
	lookup := "pk"
	if reg.viewset.kind == pyClass {
		for _, attr := range []string{"lookup_url_kwarg", "lookup_field"} {
			if v, ok := dj.p.str(dj.p.classAssign(reg.viewset, attr), reg.viewset.scope, 0); ok {
				lookup = v
				break
			}
		}
	}
	base := "^" + reg.prefix
	detail := base + "/(?P<" + lookup + ">[^/.]+)"
	var routes []drfRoute
	add := func(regex string, mapping [][2]string) {
		var methods []djMethod
		for _, m := range mapping {
			if actions[m[1]] {
				methods = append(methods, djMethod{method: strings.ToUpper(m[0]), doc: doc})
			}
		}
		if methods != nil {
			routes = append(routes, drfRoute{regex: regex + r.trailingSlash + "$", methods: methods, reg: reg})
		}
	}
	add(base, drfListActions)
	routes = append(routes, dj.extraActions(reg, base, false, r.trailingSlash)...)
	add(detail, drfDetailActions)
	routes = append(routes, dj.extraActions(reg, detail, true, r.trailingSlash)...)
	if reg.prefix == "" {
		// register("", ViewSet): REST framework drops the slash the empty
		// prefix leaves at the start, so the list is at the include's own
		// path and a detail at {pk}/ below it.
		for i := range routes {
			if strings.HasPrefix(routes[i].regex, "^/") {
				routes[i].regex = "^" + routes[i].regex[2:]
			}
		}
	}
	return routes
}

// viewsetActions collects the actions a viewset and its bases define.
func (dj *django) viewsetActions(class pyValue, into map[string]bool, depth int) {
	if depth > maxDepth {
		return
	}
	switch class.kind {
	case pyExternal:
		for _, a := range drfViewsetActions[lastName(class.name)] {
			into[a] = true
		}
	case pyClass:
		for _, a := range []string{"list", "create", "retrieve", "update", "partial_update", "destroy"} {
			if dj.p.classAttr(class, a, 0).kind == pyFunc {
				into[a] = true
			}
		}
		for _, b := range dj.p.bases(class, depth) {
			dj.viewsetActions(b, into, depth+1)
		}
	}
}

// extraActions lists the routes of a viewset's @action(detail=...)
// methods: url_path (the method's name by default) under base.
func (dj *django) extraActions(reg *drfRegistration, base string, detail bool, slash string) []drfRoute {
	viewset := reg.viewset
	if viewset.kind != pyClass {
		return nil
	}
	f := viewset.scope.file
	var routes []drfRoute
	for _, st := range namedChildren(field(viewset.node, "body")) {
		if st.Type() != "decorated_definition" {
			continue
		}
		def := field(st, "definition")
		for _, d := range namedChildren(st) {
			call := d.NamedChild(0)
			if d.Type() != "decorator" || nodeType(call) != "call" || lastName(f.text(field(call, "function"))) != "action" {
				continue
			}
			if isDetail := nodeType(arg(f, call, -1, "detail")) == "true"; isDetail != detail {
				continue
			}
			path := f.text(field(def, "name"))
			if v, ok := dj.p.str(arg(f, call, -1, "url_path"), viewset.scope, 0); ok {
				path = v
			}
			methods := upper(dj.p.strs(arg(f, call, -1, "methods"), viewset.scope))
			if len(methods) == 0 {
				methods = []string{"GET"}
			}
			route := drfRoute{regex: base + "/" + path + slash + "$", reg: reg}
			for _, m := range methods {
				route.methods = append(route.methods, djMethod{method: m, doc: f.docstring(def)})
			}
			routes = append(routes, route)
		}
	}
	return routes
}

// pathParamsTyped lists the path parameters of a normalised path.
func pathParamsTyped(path string, types map[string]string) []Param {
	var params []Param
	for _, name := range pathParams(path) {
		t := types[name]
		if t == "" {
			t = "string"
		}
		params = append(params, Param{Name: name, In: "path", Type: t, Required: true})
	}
	return params
}
