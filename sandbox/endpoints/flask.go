package endpoints

import (
	"strings"
)

// Flask: routes are declared on Flask() apps and Blueprint() objects with
// route/get/post/... decorators or add_url_rule; register_blueprint puts a
// blueprint under an app or another blueprint, and its url_prefix (the
// registration's, else the blueprint's own) is joined to the rules the way
// Flask 2.2's BlueprintSetupState does.

type flObject struct {
	isApp      bool
	prefix     *string // the Blueprint's url_prefix
	routes     []flRoute
	children   []flRegistration
	registered bool
}

type flRegistration struct {
	child  *flObject
	prefix *string // url_prefix= of register_blueprint
}

type flRoute struct {
	rule  string
	file  *pyFile
	line  int
	views []flView
}

// flView is one method of a rule with the docstring that describes it.
type flView struct {
	method string
	doc    string
}

type flask struct {
	p       *pyProject
	objects map[objectKey]*flObject
	order   []*flObject
}

var flRouteMethods = map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true}

func extractFlask(p *pyProject) []Endpoint {
	fl := &flask{p: p, objects: map[objectKey]*flObject{}}
	p.walkStatements(fl.statement)
	var out []Endpoint
	for _, o := range fl.order {
		switch {
		case o.isApp:
			out = fl.emit(out, o, nil, map[*flObject]bool{})
		case !o.registered && !fl.hasApp():
			out = fl.emit(out, o, o.prefix, map[*flObject]bool{})
		}
	}
	return out
}

func (fl *flask) hasApp() bool {
	for _, o := range fl.order {
		if o.isApp {
			return true
		}
	}
	return false
}

func (fl *flask) statement(s *pyStmt) {
	if s.def != nil {
		handler := pyValue{kind: pyFunc, node: s.def, scope: pyScope{file: s.scope.file}}
		for _, d := range s.decorators {
			fl.decorator(d, handler, s.scope)
		}
		return
	}
	switch s.call.method {
	case "add_url_rule":
		for _, scope := range fl.p.iterations(s.scope) {
			fl.addURLRule(s.call, scope)
		}
	case "register_blueprint":
		for _, scope := range fl.p.iterations(s.scope) {
			fl.register(s.call, scope)
		}
	}
}

// object is the Flask or Blueprint object expr evaluates to, or nil.
func (fl *flask) object(expr *node, s pyScope) *flObject {
	v := fl.p.eval(expr, s, 0)
	if v.kind != pyObject {
		return nil
	}
	ctor := lastName(v.name)
	if ctor != "Flask" && ctor != "Blueprint" {
		return nil
	}
	key := objectKey{v.scope.file.path, v.node.StartByte()}
	if o, ok := fl.objects[key]; ok {
		return o
	}
	o := &flObject{isApp: ctor == "Flask"}
	if prefix, ok := fl.p.str(arg(v.scope.file, v.node, -1, "url_prefix"), v.scope, 0); ok {
		o.prefix = &prefix
	}
	fl.objects[key] = o
	fl.order = append(fl.order, o)
	return o
}

func (fl *flask) decorator(d pyCall, handler pyValue, s pyScope) {
	call, method := d.node, d.method
	if method != "route" && !flRouteMethods[method] {
		return
	}
	o := fl.object(d.receiver, s)
	rule, ok := fl.p.str(arg(s.file, call, 0, "rule"), s, 0)
	if o == nil || !ok {
		return
	}
	methods := []string{strings.ToUpper(method)}
	if method == "route" {
		methods = fl.methods(call, s, []string{"GET"})
	}
	doc := docOf(handler)
	route := flRoute{rule: rule, file: s.file, line: line(call)}
	for _, m := range methods {
		route.views = append(route.views, flView{method: m, doc: doc})
	}
	o.routes = append(o.routes, route)
}

// methods is the methods= argument of a call, upper-cased, or def.
func (fl *flask) methods(call *node, s pyScope, def []string) []string {
	if m := upper(fl.p.strs(arg(s.file, call, -1, "methods"), s)); len(m) > 0 {
		return m
	}
	return def
}

// addURLRule reads obj.add_url_rule(rule, endpoint, view_func, methods=).
func (fl *flask) addURLRule(c pyCall, s pyScope) {
	call := c.node
	o := fl.object(c.receiver, s)
	rule, ok := fl.p.str(arg(s.file, call, 0, "rule"), s, 0)
	if o == nil || !ok {
		return
	}
	route := flRoute{rule: rule, file: s.file, line: line(call)}
	viewFunc := arg(s.file, call, 2, "view_func")
	if class := fl.viewClass(viewFunc, s); class.kind == pyClass {
		route.views = fl.classViews(class, fl.methods(call, s, nil))
	} else {
		doc := ""
		if handler := fl.p.eval(viewFunc, s, 0); handler.kind == pyFunc {
			doc = docOf(handler)
		}
		for _, m := range fl.methods(call, s, []string{"GET"}) {
			route.views = append(route.views, flView{method: m, doc: doc})
		}
	}
	o.routes = append(o.routes, route)
}

// viewClass is X in view_func=X.as_view("name").
func (fl *flask) viewClass(viewFunc *node, s pyScope) pyValue {
	if nodeType(viewFunc) != "call" {
		return pyValue{}
	}
	recv, method := calledMethod(s.file, viewFunc)
	if method != "as_view" {
		return pyValue{}
	}
	return fl.p.eval(recv, s, 0)
}

// classViews lists the methods a View or MethodView class serves: explicit
// methods, else its methods attribute, else (MethodView) the handlers it
// and its project bases define, else GET.
func (fl *flask) classViews(class pyValue, explicit []string) []flView {
	methods := explicit
	if len(methods) == 0 {
		methods = upper(fl.p.strs(fl.p.classAssign(class, "methods"), class.scope))
	}
	if len(methods) == 0 {
		methods = upper(definedHandlers(fl.p, class, httpHandlers))
	}
	if len(methods) == 0 {
		methods = []string{"GET"}
	}
	classDoc := docOf(class)
	var views []flView
	for _, m := range methods {
		v := flView{method: m, doc: classDoc}
		if h := fl.p.classAttr(class, strings.ToLower(m), 0); h.kind == pyFunc && docOf(h) != "" {
			v.doc = docOf(h)
		}
		views = append(views, v)
	}
	return views
}

// httpHandlers are the method names a MethodView may define, in the order
// endpoints list them.
var httpHandlers = []string{"get", "post", "put", "patch", "delete", "options", "head"}

// definedHandlers lists the names of handlers that a project class or its
// project bases define.
func definedHandlers(p *pyProject, class pyValue, names []string) []string {
	var out []string
	for _, n := range names {
		if p.classAttr(class, n, 0).kind == pyFunc {
			out = append(out, n)
		}
	}
	return out
}

// register reads parent.register_blueprint(bp, url_prefix=...).
func (fl *flask) register(c pyCall, s pyScope) {
	call := c.node
	parent := fl.object(c.receiver, s)
	child := fl.object(arg(s.file, call, 0, "blueprint"), s)
	if parent == nil || child == nil {
		return
	}
	reg := flRegistration{child: child}
	if prefix, ok := fl.p.str(arg(s.file, call, -1, "url_prefix"), s, 0); ok {
		reg.prefix = &prefix
	}
	parent.children = append(parent.children, reg)
	child.registered = true
}

// emit lists o's rules under prefix, then its blueprints'.
func (fl *flask) emit(out []Endpoint, o *flObject, prefix *string, seen map[*flObject]bool) []Endpoint {
	if seen[o] || fl.p.budget.full() || !fl.p.budget.visit() {
		return out
	}
	seen[o] = true
	defer delete(seen, o)
	for _, r := range o.routes {
		if fl.p.budget.full() {
			return out
		}
		path, types := flaskPath(flaskJoin(prefix, r.rule))
		for _, v := range r.views {
			e := Endpoint{Method: v.method, Path: path, File: r.file.path, Line: r.line}
			e.Summary, e.Description = splitDoc(v.doc)
			for _, name := range pathParams(path) {
				e.Params = append(e.Params, Param{Name: name, In: "path", Type: types[name], Required: true})
			}
			out = fl.p.budget.add(out, e)
		}
	}
	for _, reg := range o.children {
		out = fl.emit(out, reg.child, childPrefix(prefix, reg), seen)
	}
	return out
}

// childPrefix is the url_prefix a nested blueprint ends up with.
func childPrefix(state *string, reg flRegistration) *string {
	bp := reg.prefix
	if bp == nil {
		bp = reg.child.prefix
	}
	switch {
	case state != nil && bp != nil:
		joined := strings.TrimRight(*state, "/") + "/" + strings.TrimLeft(*bp, "/")
		return &joined
	case bp != nil:
		return bp
	}
	return state
}

func flaskJoin(prefix *string, rule string) string {
	switch {
	case prefix == nil:
		return rule
	case rule == "":
		return *prefix
	}
	return strings.TrimRight(*prefix, "/") + "/" + strings.TrimLeft(rule, "/")
}

// flaskConverters maps Werkzeug converters to OpenAPI types.
var flaskConverters = map[string]string{"int": "integer", "float": "number"}

// flaskPath turns <int:id> into {id} and says each parameter's type.
func flaskPath(rule string) (string, map[string]string) {
	types := map[string]string{}
	var b strings.Builder
	for {
		i := strings.IndexByte(rule, '<')
		j := strings.IndexByte(rule[max(i, 0):], '>')
		if i < 0 || j < 0 {
			b.WriteString(rule)
			return b.String(), types
		}
		spec := rule[i+1 : i+j]
		conv, name, ok := strings.Cut(spec, ":")
		if !ok {
			conv, name = "", spec
		}
		conv, _, _ = strings.Cut(conv, "(")
		types[name] = "string"
		if t, ok := flaskConverters[conv]; ok {
			types[name] = t
		}
		b.WriteString(rule[:i] + "{" + name + "}")
		rule = rule[i+j+1:]
	}
}
