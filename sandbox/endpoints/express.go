package endpoints

import (
	"strings"
)

// Express: apps are what express() returns and routers what
// express.Router() returns; routes are app.METHOD(path, ...handlers) and
// app.route(path).METHOD(...) chains; use([path], ...routers) mounts
// routers (and sub-apps) under a path. app.all answers every method and is
// one row with method ALL, as Express's own route table keeps it (_all).

type exObject struct {
	isApp   bool
	routes  []exRoute
	mounts  []exMount
	mounted bool
}

type exMount struct {
	prefix string
	child  *exObject
}

type exRoute struct {
	method string
	path   exPath
	file   *jsFile
	line   int
	doc    string
}

// exPath is a route path: a string pattern, or a regular expression kept
// as its source text.
type exPath struct {
	text  string
	regex bool
}

type express struct {
	p       *jsProject
	objects map[objectKey]*exObject
	order   []*exObject
}

var exMethods = map[string]bool{
	"get": true, "post": true, "put": true, "patch": true, "delete": true,
	"options": true, "head": true, "all": true, "trace": true,
}

func extractExpress(p *jsProject) []Endpoint {
	ex := &express{p: p, objects: map[objectKey]*exObject{}}
	p.walkStatements(ex.statement)
	var out []Endpoint
	for _, o := range ex.order {
		if o.isApp && !o.mounted {
			out = ex.emit(out, o, "", map[*exObject]bool{})
		}
	}
	// A router nobody mounts (or whose use() the evaluator could not
	// follow) answers nothing at its own paths: its rows say so rather than
	// pass for routes at the app's root. They come after the apps' rows, so
	// that where both list a method and path the app's row is kept.
	for _, o := range ex.order {
		if o.isApp || o.mounted {
			continue
		}
		from := len(out)
		out = ex.emit(out, o, "", map[*exObject]bool{})
		for i := range out[from:] {
			out[from+i].Mounted = new(bool)
		}
	}
	return out
}

func (ex *express) statement(st *node, s *jsScope) {
	if st.Type() != "expression_statement" {
		return
	}
	call := st.NamedChild(0)
	if nodeType(call) != "call_expression" {
		return
	}
	recv, method := jsCalledMethod(s.file, call)
	switch {
	case method == "use":
		ex.use(recv, call, s)
	case exMethods[method]:
		if nodeType(recv) == "call_expression" {
			ex.chain(call, st, s)
		} else {
			ex.route(recv, call, st, s)
		}
	}
}

// jsCalledMethod splits receiver.method(...).
func jsCalledMethod(f *jsFile, call *node) (*node, string) {
	fn := field(call, "function")
	if nodeType(fn) != "member_expression" {
		return nil, ""
	}
	return field(fn, "object"), f.text(field(fn, "property"))
}

// object is the app or router expr evaluates to, or nil.
func (ex *express) object(expr *node, s *jsScope) *exObject {
	v := ex.p.eval(expr, s, 0)
	if v.kind != jsObject {
		return nil
	}
	isApp := v.name == "express"
	if !isApp && v.name != "express.Router" {
		return nil
	}
	key := objectKey{v.file.path, v.node.StartByte()}
	if o, ok := ex.objects[key]; ok {
		return o
	}
	o := &exObject{isApp: isApp}
	ex.objects[key] = o
	ex.order = append(ex.order, o)
	return o
}

// route reads app.METHOD(path, ...handlers). app.get with a single
// argument reads a setting and is no route.
func (ex *express) route(recv, call, st *node, s *jsScope) {
	args := namedChildren(field(call, "arguments"))
	if len(args) < 2 {
		return
	}
	o := ex.object(recv, s)
	if o == nil {
		return
	}
	_, method := jsCalledMethod(s.file, call)
	doc := leadingComment(s.file, st)
	for _, path := range ex.paths(args[0], s) {
		o.routes = append(o.routes, exRoute{method: strings.ToUpper(method), path: path, file: s.file, line: line(call), doc: doc})
	}
}

// chain reads app.route(path).get(...).post(...).
func (ex *express) chain(call, st *node, s *jsScope) {
	var methods []string
	for {
		recv, method := jsCalledMethod(s.file, call)
		if method == "route" {
			o := ex.object(recv, s)
			if o == nil {
				return
			}
			doc := leadingComment(s.file, st)
			for _, path := range ex.paths(field(call, "arguments").NamedChild(0), s) {
				for i := len(methods) - 1; i >= 0; i-- {
					o.routes = append(o.routes, exRoute{method: methods[i], path: path, file: s.file, line: line(call), doc: doc})
				}
			}
			return
		}
		if !exMethods[method] || nodeType(recv) != "call_expression" {
			return
		}
		methods = append(methods, strings.ToUpper(method))
		call = recv
	}
}

// use reads parent.use([path], ...handlers) and records the routers among
// the handlers as mounted under path.
func (ex *express) use(recv, call *node, s *jsScope) {
	parent := ex.object(recv, s)
	if parent == nil {
		return
	}
	args := namedChildren(field(call, "arguments"))
	prefixes := []exPath{{text: "/"}}
	if len(args) > 0 {
		if ps := ex.paths(args[0], s); ps != nil {
			prefixes, args = ps, args[1:]
		}
	}
	for _, a := range args {
		child := ex.object(a, s)
		if child == nil {
			continue
		}
		child.mounted = true
		for _, prefix := range prefixes {
			parent.mounts = append(parent.mounts, exMount{prefix: prefix.text, child: child})
		}
	}
}

// paths reads a path argument: a string, a template without
// substitutions, a regular expression, an array of those, or a constant
// bound to one. nil when expr is not a path (a handler).
func (ex *express) paths(expr *node, s *jsScope) []exPath {
	f := s.file
	switch nodeType(expr) {
	case "string", "template_string":
		if text, ok := jsString(f, expr); ok {
			return []exPath{{text: text}}
		}
	case "regex":
		return []exPath{{text: f.text(expr), regex: true}}
	case "array":
		var out []exPath
		for _, el := range namedChildren(expr) {
			out = append(out, ex.paths(el, s)...)
		}
		return out
	case "identifier", "member_expression":
		if v := ex.p.eval(expr, s, 0); v.kind == jsExpr {
			return ex.paths(v.node, v.scope)
		}
	}
	return nil
}

func (ex *express) emit(out []Endpoint, o *exObject, prefix string, seen map[*exObject]bool) []Endpoint {
	if seen[o] || ex.p.budget.full() || !ex.p.budget.visit() {
		return out
	}
	seen[o] = true
	defer delete(seen, o)
	for _, r := range o.routes {
		if ex.p.budget.full() {
			return out
		}
		path, params := r.path.text, []Param(nil)
		if !r.path.regex {
			path, params = expressPath(path)
		}
		e := Endpoint{Method: r.method, Path: expressJoin(prefix, path), Params: params, File: r.file.path, Line: r.line}
		e.Summary, e.Description = commentDoc(r.doc)
		out = ex.p.budget.add(out, e)
	}
	for _, m := range o.mounts {
		mount, _ := expressPath(m.prefix)
		out = ex.emit(out, m.child, expressJoin(prefix, mount), seen)
	}
	return out
}

// expressJoin puts a path under a mount path; a router's "/" is the mount
// path itself, as Express answers it.
func expressJoin(prefix, path string) string {
	prefix = strings.TrimRight(prefix, "/")
	if path == "/" && prefix != "" {
		return prefix
	}
	return prefix + path
}

// expressPath turns :id, :id?, :id* and :id(\d+) into {id}.
func expressPath(p string) (string, []Param) {
	var b strings.Builder
	var params []Param
	for i := 0; i < len(p); {
		if p[i] != ':' {
			b.WriteByte(p[i])
			i++
			continue
		}
		j := i + 1
		for j < len(p) && isIdentByte(p[j]) {
			j++
		}
		name := p[i+1 : j]
		if j < len(p) && p[j] == '(' {
			if k := closingParen(p, j); k > 0 {
				j = k + 1
			}
		}
		required := true
		if j < len(p) && strings.IndexByte("?*+", p[j]) >= 0 {
			required = p[j] == '+'
			j++
		}
		b.WriteString("{" + name + "}")
		params = append(params, Param{Name: name, In: "path", Type: "string", Required: required})
		i = j
	}
	return b.String(), params
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// leadingComment is the comment block right above a statement.
func leadingComment(f *jsFile, st *node) string {
	var parts []string
	row := st.startRow
	for c := st.PrevSibling(); c != nil && c.Type() == "comment" && c.endRow+1 >= row; c = c.PrevSibling() {
		parts = append([]string{f.text(c)}, parts...)
		row = c.startRow
	}
	return strings.Join(parts, "\n")
}

// commentDoc turns a // or /** */ comment into a summary and description.
// JSDoc-style tags are dropped, except that "@desc text" is the summary
// when there is no other text (the "@route GET /api/x  @desc ..." header
// generators like to write).
func commentDoc(comment string) (string, string) {
	var text []string
	desc := ""
	for _, l := range strings.Split(comment, "\n") {
		l = strings.TrimSpace(l)
		l = strings.TrimPrefix(l, "//")
		l = strings.TrimPrefix(l, "/**")
		l = strings.TrimPrefix(l, "/*")
		l = strings.TrimSuffix(l, "*/")
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "*"))
		if tag, rest, ok := strings.Cut(l, " "); ok && (tag == "@desc" || tag == "@description") {
			desc = strings.TrimSpace(rest)
		}
		if strings.HasPrefix(l, "@") {
			continue
		}
		text = append(text, l)
	}
	summary, description := splitDoc(strings.Join(text, "\n"))
	if summary == "" {
		summary = desc
	}
	return summary, description
}
