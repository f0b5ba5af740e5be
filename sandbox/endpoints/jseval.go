package endpoints

import (
	"strings"
)

type jsKind int

const (
	jsUnknown  jsKind = iota
	jsExternal        // a package or something in it; name is "express" or "express.Router"
	jsObject          // what calling something external returned; node is the call, name the callee
	jsModule          // a project module as a namespace (ES exports, or exports.x assignments)
	jsFunc            // a project function; node is the function, scope where it was defined
	jsExpr            // any other expression, for the caller to read
)

type jsValue struct {
	kind  jsKind
	name  string
	node  *node
	file  *jsFile
	scope *jsScope
}

// jsExports is what a module exports.
type jsExports struct {
	moduleExports *node            // module.exports = value
	defaultExport *node            // export default value
	named         map[string]*node // exports.x = value, module.exports.x = value, export const x
}

func (p *jsProject) exportsOf(f *jsFile) *jsExports {
	if e, ok := p.exports[f]; ok {
		return e
	}
	e := &jsExports{named: map[string]*node{}}
	p.exports[f] = e
	for _, st := range namedChildren(f.root) {
		switch st.Type() {
		case "expression_statement":
			e.assign(f, st.NamedChild(0))
		case "lexical_declaration", "variable_declaration":
			// var app = module.exports = express()
			for _, d := range namedChildren(st) {
				e.assign(f, field(d, "value"))
			}
		case "export_statement":
			p.readExport(f, st, e)
		}
	}
	return e
}

// assign records what a chain of assignments exports: exports =
// module.exports = app gives every name of the chain the innermost value.
func (e *jsExports) assign(f *jsFile, a *node) {
	for nodeType(a) == "assignment_expression" {
		left, right := f.text(field(a, "left")), jsAssigned(field(a, "right"))
		switch {
		case left == "module.exports":
			e.moduleExports = right
		case strings.HasPrefix(left, "exports."):
			e.named[strings.TrimPrefix(left, "exports.")] = right
		case strings.HasPrefix(left, "module.exports."):
			e.named[strings.TrimPrefix(left, "module.exports.")] = right
		}
		a = field(a, "right")
	}
}

func (p *jsProject) readExport(f *jsFile, st *node, e *jsExports) {
	if v := field(st, "value"); v != nil {
		e.defaultExport = v
		return
	}
	if decl := field(st, "declaration"); decl != nil {
		if strings.HasPrefix(f.text(st), "export default") {
			e.defaultExport = field(decl, "name") // export default function name() {}
			return
		}
		switch decl.Type() {
		case "function_declaration", "generator_function_declaration", "class_declaration":
			e.named[f.text(field(decl, "name"))] = field(decl, "name")
		default:
			for _, d := range namedChildren(decl) {
				if n := field(d, "name"); nodeType(n) == "identifier" {
					e.named[f.text(n)] = n
				}
			}
		}
		return
	}
	for _, c := range namedChildren(st) {
		if c.Type() != "export_clause" {
			continue
		}
		for _, spec := range namedChildren(c) {
			name := field(spec, "name")
			exported := field(spec, "alias")
			if exported == nil {
				exported = name
			}
			if f.text(exported) == "default" {
				e.defaultExport = name
			} else {
				e.named[f.text(exported)] = name
			}
		}
	}
}

// jsAssigned is the value a chain of assignments (a = b = value) gives
// every name in it; expr itself when it is no assignment.
func jsAssigned(expr *node) *node {
	for nodeType(expr) == "assignment_expression" {
		expr = field(expr, "right")
	}
	return expr
}

// requireValue is what require() of a project module returns.
func (p *jsProject) requireValue(f *jsFile, depth int) jsValue {
	if e := p.exportsOf(f); e.moduleExports != nil {
		return p.eval(e.moduleExports, &jsScope{file: f}, depth+1)
	}
	return jsValue{kind: jsModule, file: f}
}

// importValue is what import binds: "default", "*" or a name.
func (p *jsProject) importValue(from *jsFile, spec, name string, depth int) jsValue {
	f := p.resolve(from, spec)
	if f == nil {
		ext := jsValue{kind: jsExternal, name: spec}
		if name != "default" && name != "*" {
			ext.name += "." + name
		}
		return ext
	}
	e := p.exportsOf(f)
	switch {
	case name == "*":
		return jsValue{kind: jsModule, file: f}
	case name == "default" && e.defaultExport != nil:
		return p.eval(e.defaultExport, &jsScope{file: f}, depth+1)
	case name == "default":
		return p.requireValue(f, depth) // CommonJS interop
	}
	return p.member(jsValue{kind: jsModule, file: f}, name, depth+1)
}

func (p *jsProject) eval(expr *node, s *jsScope, depth int) jsValue {
	if expr == nil || depth > maxDepth {
		return jsValue{}
	}
	switch expr.Type() {
	case "identifier":
		return p.lookup(s, s.file.text(expr), depth+1)
	case "member_expression":
		if s.file.text(expr) == "module.exports" {
			return p.requireValue(s.file, depth)
		}
		base := p.eval(field(expr, "object"), s, depth+1)
		return p.member(base, s.file.text(field(expr, "property")), depth+1)
	case "assignment_expression":
		// var app = module.exports = express(): the value of a chained
		// assignment is its innermost right-hand side.
		return p.eval(jsAssigned(expr), s, depth+1)
	case "parenthesized_expression", "await_expression":
		return p.eval(expr.NamedChild(0), s, depth+1)
	case "call_expression":
		return p.evalCall(expr, s, depth)
	}
	if isFunction(expr) {
		return jsValue{kind: jsFunc, node: expr, file: s.file, scope: s}
	}
	return jsValue{kind: jsExpr, node: expr, file: s.file, scope: s}
}

func (p *jsProject) evalCall(call *node, s *jsScope, depth int) jsValue {
	fn := field(call, "function")
	if s.file.text(fn) == "require" {
		spec := jsStringLiteral(s.file, field(call, "arguments").NamedChild(0))
		if f := p.resolve(s.file, spec); f != nil {
			return p.requireValue(f, depth)
		}
		return jsValue{kind: jsExternal, name: spec}
	}
	callee := p.eval(fn, s, depth+1)
	switch callee.kind {
	case jsExternal:
		return jsValue{kind: jsObject, name: callee.name, node: call, file: s.file, scope: s}
	case jsFunc:
		if v := p.returned(callee, depth+1); v.kind != jsUnknown {
			return v
		}
	}
	return jsValue{kind: jsExpr, node: call, file: s.file, scope: s}
}

func (p *jsProject) lookup(s *jsScope, name string, depth int) jsValue {
	for sc := s; sc != nil; sc = sc.parent {
		if b, ok := p.scopeBindings(sc)[name]; ok {
			return p.bound(b, sc, depth)
		}
	}
	if name == "exports" {
		return jsValue{kind: jsModule, file: s.file} // exports.router.get(...)
	}
	return jsValue{}
}

func (p *jsProject) bound(b jsBinding, s *jsScope, depth int) jsValue {
	switch b.kind {
	case jsBindValue:
		return p.eval(b.node, s, depth+1)
	case jsBindDestructure:
		return p.member(p.eval(b.node, s, depth+1), b.prop, depth+1)
	case jsBindFunc:
		return jsValue{kind: jsFunc, node: b.node, file: s.file, scope: s}
	case jsBindImport:
		return p.importValue(s.file, b.spec, b.prop, depth+1)
	case jsBindParam:
		return p.argument(b.node, b.index, depth+1)
	}
	return jsValue{}
}

// member is base.name.
func (p *jsProject) member(base jsValue, name string, depth int) jsValue {
	if depth > maxDepth {
		return jsValue{}
	}
	switch base.kind {
	case jsExternal:
		return jsValue{kind: jsExternal, name: base.name + "." + name}
	case jsModule:
		e := p.exportsOf(base.file)
		if name == "default" && e.defaultExport != nil {
			return p.eval(e.defaultExport, &jsScope{file: base.file}, depth+1)
		}
		if n, ok := e.named[name]; ok {
			return p.eval(n, &jsScope{file: base.file}, depth+1)
		}
		if e.moduleExports != nil {
			return p.member(p.eval(e.moduleExports, &jsScope{file: base.file}, depth+1), name, depth+1)
		}
	case jsExpr:
		if base.node.Type() == "object" {
			return p.property(base, name, depth)
		}
	}
	return jsValue{}
}

// property is the value of name in an object literal.
func (p *jsProject) property(obj jsValue, name string, depth int) jsValue {
	f := obj.file
	for _, c := range namedChildren(obj.node) {
		switch c.Type() {
		case "shorthand_property_identifier":
			if f.text(c) == name {
				return p.lookup(obj.scope, name, depth+1)
			}
		case "pair":
			key := field(c, "key")
			k := f.text(key)
			if s, ok := jsString(f, key); ok {
				k = s
			}
			if k == name {
				return p.eval(field(c, "value"), obj.scope, depth+1)
			}
		}
	}
	return jsValue{}
}

// returned is what a project function returns: an arrow function's
// expression body, or the first return statement the evaluator can follow.
func (p *jsProject) returned(fn jsValue, depth int) jsValue {
	s := &jsScope{file: fn.file, fn: fn.node, parent: fn.scope}
	body := field(fn.node, "body")
	if nodeType(body) != "statement_block" {
		return p.eval(body, s, depth+1)
	}
	var found jsValue
	var visit func(block *node)
	visit = func(block *node) {
		for _, st := range namedChildren(block) {
			if found.kind != jsUnknown {
				return
			}
			switch {
			case st.Type() == "return_statement":
				found = p.eval(st.NamedChild(0), s, depth+1)
			case isCompound(st):
				visit(st)
			}
		}
	}
	visit(body)
	return found
}

// jsCallSite is a call made as a statement of its own, or the value of a
// declaration: register(app), require('./routes')(app), makeRouter(db).
type jsCallSite struct {
	call  *node
	scope *jsScope
}

func (p *jsProject) callSites() []jsCallSite {
	if p.calls != nil {
		return p.calls
	}
	p.calls = []jsCallSite{}
	p.walkStatements(func(st *node, s *jsScope) {
		if st.Type() == "expression_statement" {
			collectCalls(st.NamedChild(0), s, &p.calls)
		}
	})
	return p.calls
}

// collectCalls gathers the calls of an expression statement, including the
// arguments of calls: app.use('/x', makeRouter(db)) calls makeRouter.
func collectCalls(e *node, s *jsScope, into *[]jsCallSite) {
	if nodeType(e) != "call_expression" {
		return
	}
	*into = append(*into, jsCallSite{call: e, scope: s})
	for _, a := range namedChildren(field(e, "arguments")) {
		collectCalls(a, s, into)
	}
	if fn := field(e, "function"); nodeType(fn) == "call_expression" {
		collectCalls(fn, s, into)
	}
}

// argument is what callers pass for parameter index of fn: the first call
// site whose argument the evaluator can follow.
func (p *jsProject) argument(fn *node, index int, depth int) jsValue {
	key := argKey{fn, index}
	if v, ok := p.args[key]; ok {
		return v
	}
	// While it is worked out, a call site that needs this same parameter
	// (app.get inside the function itself) gets nothing instead of recursing.
	p.args[key] = jsValue{}
	v := p.findArgument(fn, index, depth)
	p.args[key] = v
	if v.kind == jsUnknown {
		delete(p.args, key) // perhaps only the depth limit: a later lookup may do better
	}
	return v
}

func (p *jsProject) findArgument(fn *node, index int, depth int) jsValue {
	for _, site := range p.callSites() {
		if depth > maxDepth {
			break
		}
		fnExpr := field(site.call, "function")
		callee := p.eval(fnExpr, site.scope, depth+1)
		if callee.kind != jsFunc || !callee.node.Equal(fn) {
			continue
		}
		args := namedChildren(field(site.call, "arguments"))
		if index < len(args) {
			if v := p.eval(args[index], site.scope, depth+1); v.kind != jsUnknown {
				return v
			}
		}
	}
	return jsValue{}
}
