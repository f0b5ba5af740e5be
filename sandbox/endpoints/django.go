package endpoints

import (
	"path"
	"strings"
)

// Django: the root urlconf comes from manage.py's DJANGO_SETTINGS_MODULE
// and that module's ROOT_URLCONF; its urlpatterns are path(), re_path() and
// url() entries whose view is either include(...) of another urlconf (a
// module name, a module, a list, a (patterns, namespace) tuple) or a view.
// A path is the concatenation of the route pieces on the way down.

type django struct {
	p   *pyProject
	drf map[objectKey]*drfRouter // REST framework routers, once found
	// suffixed counts the format_suffix_patterns() lists the urlconf being
	// read is included from: REST framework adds the suffix variants to
	// the included patterns too.
	suffixed int
}

// djPiece is one route piece, already in {name} form, with its parameters'
// types.
type djPiece struct {
	text  string
	types map[string]string
}

func extractDjango(p *pyProject) []Endpoint {
	dj := &django{p: p}
	var out []Endpoint
	for _, root := range dj.roots() {
		out = dj.urlconf(out, root, nil, map[string]bool{})
	}
	return out
}

// roots are the root urlconf modules: ROOT_URLCONF when manage.py and the
// settings say it, else every urlconf no other urlconf includes.
func (dj *django) roots() []string {
	if root := dj.rootURLConf(); root != "" {
		return []string{root}
	}
	var candidates []string
	included := map[string]bool{}
	for _, f := range dj.p.files {
		if _, ok := dj.p.scopeBindings(pyScope{file: f})["urlpatterns"]; !ok {
			continue
		}
		candidates = append(candidates, f.module)
		for _, el := range dj.urlpatterns(f) {
			if mod := dj.includedModule(el.node, el.scope); mod != "" {
				included[mod] = true
			}
		}
	}
	var roots []string
	for _, c := range candidates {
		if !included[c] {
			roots = append(roots, c)
		}
	}
	return roots
}

// rootURLConf follows manage.py to the settings module's ROOT_URLCONF.
func (dj *django) rootURLConf() string {
	var manage *pyFile
	for _, f := range dj.p.files {
		if path.Base(f.path) == "manage.py" && (manage == nil || len(f.path) < len(manage.path)) {
			manage = f
		}
	}
	if manage == nil {
		return ""
	}
	settings := ""
	walkBlock(manage.root, pyScope{file: manage}, func(st *node, s pyScope) {
		call := statementCall(st)
		if call == nil || settings != "" {
			return
		}
		if _, m := calledMethod(s.file, call); m != "setdefault" {
			return
		}
		if key, _ := dj.p.str(arg(s.file, call, 0, ""), s, 0); key == "DJANGO_SETTINGS_MODULE" {
			settings, _ = dj.p.str(arg(s.file, call, 1, ""), s, 0)
		}
	})
	// manage.py runs from its own directory, so its imports are relative to it.
	if dir := path.Dir(manage.path); dir != "." && settings != "" {
		settings = strings.ReplaceAll(dir, "/", ".") + "." + settings
	}
	f, ok := dj.p.modules[dj.p.canonical(settings)]
	if !ok {
		return ""
	}
	v := dj.p.moduleMember(f, "ROOT_URLCONF", 0)
	if v.kind != pyExpr {
		return ""
	}
	root, _ := dj.p.str(v.node, v.scope, 0)
	if dir := path.Dir(manage.path); dir != "." && root != "" {
		root = strings.ReplaceAll(dir, "/", ".") + "." + root
	}
	return dj.p.canonical(root)
}

// djElement is one entry of a urlpatterns list, or all the routes of a
// REST framework router (urlpatterns += router.urls).
type djElement struct {
	node   *node
	scope  pyScope
	router *drfRouter
	// suffix is set on the entries of a format_suffix_patterns() list,
	// which REST framework doubles with a .{format} variant.
	suffix bool
}

// urlpatterns lists the entries of a urlconf module's urlpatterns, through
// =, += (in if blocks too, as for settings.DEBUG), append and extend.
func (dj *django) urlpatterns(f *pyFile) []djElement {
	var out []djElement
	s := pyScope{file: f}
	var visit func(block *node)
	visit = func(block *node) {
		for _, st := range namedChildren(block) {
			if st.Type() != "expression_statement" {
				for _, inner := range innerBlocks(st) {
					visit(inner)
				}
				continue
			}
			e := st.NamedChild(0)
			switch nodeType(e) {
			case "assignment":
				if f.text(field(e, "left")) == "urlpatterns" {
					out = dj.elements(nil, field(e, "right"), s, out)
				}
			case "augmented_assignment":
				if f.text(field(e, "left")) == "urlpatterns" {
					out = dj.elements(out, field(e, "right"), s, out)
				}
			case "call":
				if recv, m := calledMethod(f, e); f.text(recv) == "urlpatterns" {
					switch m {
					case "append":
						out = append(out, djElement{node: arg(f, e, 0, ""), scope: s})
					case "extend":
						out = dj.elements(out, arg(f, e, 0, ""), s, out)
					}
				}
			}
		}
	}
	visit(f.root)
	return out
}

// elements appends to acc the entries of a list expression. self is the
// list before an assignment, so "urlpatterns = urlpatterns + [...]" keeps it.
func (dj *django) elements(acc []djElement, expr *node, s pyScope, self []djElement) []djElement {
	switch nodeType(expr) {
	case "list", "tuple":
		for _, el := range namedChildren(expr) {
			if el.Type() != "comment" {
				acc = append(acc, djElement{node: el, scope: s})
			}
		}
	case "binary_operator":
		acc = dj.elements(acc, field(expr, "left"), s, self)
		acc = dj.elements(acc, field(expr, "right"), s, self)
	case "parenthesized_expression":
		acc = dj.elements(acc, expr.NamedChild(0), s, self)
	case "call":
		// urlpatterns = format_suffix_patterns(urlpatterns): the same
		// entries, each with its format-suffix variant.
		if lastName(s.file.text(field(expr, "function"))) == "format_suffix_patterns" {
			from := len(acc)
			acc = dj.elements(acc, arg(s.file, expr, 0, "urlpatterns"), s, self)
			for i := range acc[from:] {
				acc[from+i].suffix = true
			}
		}
	case "identifier", "attribute":
		if s.file.text(expr) == "urlpatterns" {
			return append(acc, self...)
		}
		if r := dj.routerURLs(expr, s); r != nil {
			return append(acc, djElement{router: r})
		}
		if v := dj.p.eval(expr, s, 0); v.kind == pyExpr {
			acc = dj.elements(acc, v.node, v.scope, nil)
		}
	}
	return acc
}

// route splits path(route, view, ...) and friends; ok is false for
// anything else.
func (dj *django) route(el djElement) (piece djPiece, view *node, ok bool) {
	kind, text, ok := dj.routeText(el)
	if !ok {
		return djPiece{}, nil, false
	}
	if kind == "path" {
		piece = routePiece(text)
	} else {
		piece = regexPiece(text)
	}
	return piece, arg(el.scope.file, el.node, 1, "view"), true
}

// routeText is the function (path, re_path or url) and the route string of
// an entry.
func (dj *django) routeText(el djElement) (kind, text string, ok bool) {
	if nodeType(el.node) != "call" {
		return "", "", false
	}
	f := el.scope.file
	kind = lastName(f.text(field(el.node, "function")))
	if kind != "path" && kind != "re_path" && kind != "url" {
		return "", "", false
	}
	text, ok = dj.p.str(arg(f, el.node, 0, "route"), el.scope, 0)
	return kind, text, ok
}

// suffixPiece is the route piece of an entry's format-suffix variant, as
// REST framework's apply_suffix_patterns writes it: the route without its
// trailing $ and slashes, then <drf_format_suffix:format> for path() (the
// converter matches the dot itself) or \.(?P<format>[a-z0-9]+)/?$ for a
// regex.
func (dj *django) suffixPiece(el djElement) djPiece {
	kind, text, _ := dj.routeText(el)
	text = strings.TrimRight(strings.TrimRight(text, "$"), "/")
	if kind == "path" {
		return routePiece(text + "<drf_format_suffix:format>")
	}
	return regexPiece(text + `\.(?P<format>[a-z0-9]+)/?$`)
}

// urlconf lists the endpoints of a urlconf module under prefix.
func (dj *django) urlconf(out []Endpoint, module string, prefix []djPiece, seen map[string]bool) []Endpoint {
	f, ok := dj.p.modules[module]
	if !ok || seen[module] {
		return out
	}
	seen[module] = true
	defer delete(seen, module)
	return dj.patterns(out, dj.urlpatterns(f), prefix, seen)
}

func (dj *django) patterns(out []Endpoint, els []djElement, prefix []djPiece, seen map[string]bool) []Endpoint {
	for _, el := range els {
		if dj.p.budget.full() || !dj.p.budget.visit() {
			return out
		}
		if el.router != nil {
			out = dj.routerEndpoints(out, el.router, prefix)
			continue
		}
		piece, view, ok := dj.route(el)
		if !ok || view == nil {
			continue
		}
		pieces := append(append([]djPiece(nil), prefix...), piece)
		if inc := dj.includeArg(view, el.scope); inc != nil {
			if el.suffix {
				dj.suffixed++
			}
			out = dj.include(out, inc, el.scope, pieces, seen)
			if el.suffix {
				dj.suffixed--
			}
			continue
		}
		if nodeType(view) == "attribute" && lastName(el.scope.file.text(view)) == "urls" {
			continue // admin.site.urls: the admin's own views, not the app's
		}
		out = dj.view(out, view, el, pieces)
		if el.suffix || dj.suffixed > 0 {
			pieces[len(pieces)-1] = dj.suffixPiece(el)
			out = dj.view(out, view, el, pieces)
		}
	}
	return out
}

// includeArg is the first argument of include(...), nil when view is not
// an include.
func (dj *django) includeArg(view *node, s pyScope) *node {
	if nodeType(view) != "call" || lastName(s.file.text(field(view, "function"))) != "include" {
		return nil
	}
	return arg(s.file, view, 0, "arg")
}

// includedModule is the project module an entry includes, "" if none.
func (dj *django) includedModule(el *node, s pyScope) string {
	_, view, ok := dj.route(djElement{node: el, scope: s})
	if !ok {
		return ""
	}
	if inc := dj.includeArg(view, s); inc != nil {
		if mod, ok := dj.includeTarget(inc, s); ok {
			return mod
		}
	}
	return ""
}

// includeTarget is the module an include argument names, by string or by
// reference.
func (dj *django) includeTarget(inc *node, s pyScope) (string, bool) {
	if name, ok := dj.p.str(inc, s, 0); ok {
		c := dj.p.canonical(name)
		return c, c != ""
	}
	if v := dj.p.eval(inc, s, 0); v.kind == pyModule {
		return v.name, true
	}
	return "", false
}

func (dj *django) include(out []Endpoint, inc *node, s pyScope, prefix []djPiece, seen map[string]bool) []Endpoint {
	if r := dj.routerURLs(inc, s); r != nil {
		return dj.routerEndpoints(out, r, prefix)
	}
	if mod, ok := dj.includeTarget(inc, s); ok {
		return dj.urlconf(out, mod, prefix, seen)
	}
	switch nodeType(inc) {
	case "tuple", "parenthesized_expression":
		// include((patterns, "app_name")): the patterns come first.
		if first := inc.NamedChild(0); first != nil {
			return dj.include(out, first, s, prefix, seen)
		}
	case "list":
		return dj.patterns(out, dj.elements(nil, inc, s, nil), prefix, seen)
	case "identifier", "attribute":
		if v := dj.p.eval(inc, s, 0); v.kind == pyExpr {
			return dj.include(out, v.node, v.scope, prefix, seen)
		}
	}
	return out
}

// view lists one endpoint per method the view serves.
func (dj *django) view(out []Endpoint, view *node, el djElement, pieces []djPiece) []Endpoint {
	path, types := joinPieces(pieces)
	params := pathParamsTyped(path, types)
	if dj.p.budget.full() {
		return out
	}
	for _, mv := range dj.viewMethods(view, el.scope) {
		e := Endpoint{Method: mv.method, Path: path, Params: params, File: el.scope.file.path, Line: line(el.node)}
		e.Summary, e.Description = splitDoc(mv.doc)
		out = dj.p.budget.add(out, e)
	}
	return out
}

// joinPieces builds the endpoint path from its route pieces.
func joinPieces(pieces []djPiece) (string, map[string]string) {
	var b strings.Builder
	b.WriteByte('/')
	types := map[string]string{}
	for _, p := range pieces {
		b.WriteString(p.text)
		for k, v := range p.types {
			types[k] = v
		}
	}
	return b.String(), types
}

// routePiece converts a path() route: <int:pk> is {pk}, typed integer.
func routePiece(route string) djPiece {
	text, types := flaskPath(route)
	return djPiece{text: text, types: types}
}
