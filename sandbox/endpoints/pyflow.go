package endpoints

// Values that reach a name from elsewhere: the arguments callers pass to a
// function's parameters, and the elements a for loop binds its target to.

// argument is what callers pass for parameter index of fn: register(app)
// helpers and views.init_app(app) functions receive the app this way. The
// first call site in the project that passes something the evaluator can
// follow wins.
func (p *pyProject) argument(fn *node, index int, f *pyFile, depth int) pyValue {
	key := argKey{fn, index}
	if v, ok := p.args[key]; ok {
		return v
	}
	// While it is worked out, a call site that needs this same parameter
	// (app.get inside the function itself) gets nothing instead of recursing.
	p.args[key] = pyValue{}
	v := p.findArgument(fn, index, f, depth)
	p.args[key] = v
	if v.kind == pyUnknown {
		delete(p.args, key) // perhaps only the depth limit: a later lookup may do better
	}
	return v
}

// argKey names a parameter: its function and position.
type argKey struct {
	fn    *node
	index int
}

func (p *pyProject) findArgument(fn *node, index int, f *pyFile, depth int) pyValue {
	params := namedChildren(field(fn, "parameters"))
	name := ""
	if index < len(params) {
		if n := paramName(params[index]); n != nil {
			name = f.text(n)
		}
	}
	var found pyValue
	for _, site := range p.callSites() {
		if found.kind != pyUnknown || depth > maxDepth {
			break
		}
		callee := p.eval(field(site.call, "function"), site.scope, depth+1)
		if callee.kind != pyFunc || !callee.node.Equal(fn) {
			continue
		}
		if a := arg(site.scope.file, site.call, index, name); a != nil {
			found = p.eval(a, site.scope, depth+1)
		}
	}
	return found
}

// iterations are the scopes a statement runs in: one per element when it
// is in a for loop over a list or tuple the evaluator can see
// (for router in (items.router, users.router): app.include_router(router)),
// else s itself.
func (p *pyProject) iterations(s pyScope) []pyScope {
	if s.loop == nil {
		return []pyScope{s}
	}
	loopScope := s
	loopScope.loop = nil
	items := p.listItems(field(s.loop, "right"), loopScope)
	target := field(s.loop, "left")
	var out []pyScope
	for _, item := range items {
		it := s
		it.loop, it.iteration = nil, map[string]scopedExpr{}
		for name, e := range s.iteration {
			it.iteration[name] = e
		}
		if !bindTarget(s.file, target, item, it.iteration) {
			return []pyScope{s}
		}
		out = append(out, it)
	}
	if out == nil {
		return []pyScope{s}
	}
	return out
}

// listItems are the elements of a list, tuple or set expression, or of a
// name bound to one.
func (p *pyProject) listItems(expr *node, s pyScope) []scopedExpr {
	if t := nodeType(expr); t == "identifier" || t == "attribute" {
		if v := p.eval(expr, s, 0); v.kind == pyExpr {
			expr, s = v.node, v.scope
		}
	}
	switch nodeType(expr) {
	case "list", "tuple", "set":
	default:
		return nil
	}
	var out []scopedExpr
	for _, el := range namedChildren(expr) {
		if el.Type() != "comment" {
			out = append(out, scopedExpr{el, s})
		}
	}
	return out
}

// bindTarget binds a loop target (a name, or names in a tuple) to item.
func bindTarget(f *pyFile, target *node, item scopedExpr, into map[string]scopedExpr) bool {
	switch nodeType(target) {
	case "identifier":
		into[f.text(target)] = item
		return true
	case "pattern_list", "tuple_pattern", "list_pattern":
		parts := namedChildren(item.node)
		if t := nodeType(item.node); t != "tuple" && t != "list" || len(parts) != len(namedChildren(target)) {
			return false
		}
		for i, t := range namedChildren(target) {
			if !bindTarget(f, t, scopedExpr{parts[i], item.scope}, into) {
				return false
			}
		}
		return true
	}
	return false
}

// pyCallSite is a call made as a statement of its own.
type pyCallSite struct {
	call  *node
	scope pyScope
}

func (p *pyProject) callSites() []pyCallSite {
	if p.calls != nil {
		return p.calls
	}
	p.calls = []pyCallSite{}
	p.walkStatements(func(s *pyStmt) {
		if s.call.node != nil {
			p.calls = append(p.calls, pyCallSite{call: s.call.node, scope: s.scope})
		}
	})
	return p.calls
}

// statementCall is the call an expression statement makes, nil otherwise.
func statementCall(st *node) *node {
	if st.Type() != "expression_statement" {
		return nil
	}
	if c := st.NamedChild(0); nodeType(c) == "call" {
		return c
	}
	return nil
}
