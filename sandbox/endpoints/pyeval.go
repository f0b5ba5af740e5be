package endpoints

import (
	"sort"
	"strings"
)

// pyKind is what an evaluated Python expression turned out to be.
type pyKind int

const (
	pyUnknown  pyKind = iota
	pyModule          // a project module or package; name is its dotted name
	pyExternal        // something from outside the project; name is qualified ("fastapi.APIRouter")
	pyObject          // what calling something external returned; node is the call, name the callee
	pyFunc            // a project function; node is its function_definition
	pyClass           // a project class; node is its class_definition
	pyInstance        // an instance of a project class; node is the class_definition
	pyExpr            // any other expression, for the caller to read; node in scope
)

// pyValue is the result of evaluating an expression.
type pyValue struct {
	kind  pyKind
	name  string
	node  *node
	scope pyScope // where node is
}

// maxDepth bounds evaluation, so import cycles and recursive assignments end.
const maxDepth = 24

// eval follows expr as far as the project's source says.
func (p *pyProject) eval(expr *node, s pyScope, depth int) pyValue {
	if expr == nil || depth > maxDepth {
		return pyValue{}
	}
	switch expr.Type() {
	case "identifier":
		return p.lookup(s, s.file.text(expr), depth+1)
	case "attribute":
		base := p.eval(field(expr, "object"), s, depth+1)
		return p.member(base, s.file.text(field(expr, "attribute")), depth+1)
	case "parenthesized_expression":
		return p.eval(expr.NamedChild(0), s, depth+1)
	case "call":
		return p.evalCall(expr, s, depth)
	}
	return pyValue{kind: pyExpr, node: expr, scope: s}
}

func (p *pyProject) evalCall(call *node, s pyScope, depth int) pyValue {
	callee := p.eval(field(call, "function"), s, depth+1)
	switch callee.kind {
	case pyExternal:
		return pyValue{kind: pyObject, name: callee.name, node: call, scope: s}
	case pyFunc:
		if v := p.returned(callee, depth+1); v.kind != pyUnknown {
			return v
		}
	case pyClass:
		return pyValue{kind: pyInstance, node: callee.node, scope: callee.scope}
	}
	return pyValue{kind: pyExpr, node: call, scope: s}
}

// lookup finds name in a function scope, then in its module.
func (p *pyProject) lookup(s pyScope, name string, depth int) pyValue {
	if e, ok := s.iteration[name]; ok {
		return p.eval(e.node, e.scope, depth+1)
	}
	if s.fn != nil {
		if b, ok := p.scopeBindings(s)[name]; ok {
			return p.bound(b, s, depth)
		}
		s = pyScope{file: s.file}
	}
	if v := p.cachedModuleMember(s.file, name, depth); v.kind != pyUnknown {
		return v
	}
	// A builtin, or a name from outside the project that a star import
	// brought in: keep the bare name so constructors are still recognised.
	return pyValue{kind: pyExternal, name: name}
}

// cachedModuleMember is moduleMember, remembered: every decorator of a
// router module looks up the same router. Only what was found is kept: an
// unknown may come from the depth limit or from a parameter being worked
// out, and a later lookup may do better.
func (p *pyProject) cachedModuleMember(f *pyFile, name string, depth int) pyValue {
	if v, ok := f.members[name]; ok {
		return v
	}
	v := p.moduleMember(f, name, depth)
	if v.kind != pyUnknown {
		f.members[name] = v
	}
	return v
}

// moduleMember is what name means at the top level of f, star imports
// included; pyUnknown when f does not bind it.
func (p *pyProject) moduleMember(f *pyFile, name string, depth int) pyValue {
	if depth > maxDepth {
		return pyValue{}
	}
	bindings := p.scopeBindings(pyScope{file: f})
	if b, ok := bindings[name]; ok {
		return p.bound(b, pyScope{file: f}, depth)
	}
	var stars []string // "from m import *" bindings, in a stable order
	for key := range bindings {
		if strings.HasPrefix(key, "*") {
			stars = append(stars, key)
		}
	}
	sort.Strings(stars)
	for _, key := range stars {
		if m, ok := p.modules[p.imported(bindings[key])]; ok && m != f {
			if v := p.moduleMember(m, name, depth+1); v.kind != pyUnknown {
				return v
			}
		}
	}
	return pyValue{}
}

// bound is the value of a binding found in scope s.
func (p *pyProject) bound(b pyBinding, s pyScope, depth int) pyValue {
	switch b.kind {
	case bindAssign:
		return p.eval(b.node, s, depth+1)
	case bindImport:
		return p.moduleValue(p.imported(b))
	case bindFrom:
		mod := p.imported(b)
		if mod == s.file.module {
			// "from . import items" in a package's __init__: the submodule.
			return p.moduleValue(mod + "." + b.name)
		}
		return p.member(p.moduleValue(mod), b.name, depth+1)
	case bindDef:
		return pyValue{kind: pyFunc, node: b.node, scope: s}
	case bindClass:
		return pyValue{kind: pyClass, node: b.node, scope: s}
	case bindParam:
		return p.argument(b.node, b.index, s.file, depth+1)
	}
	return pyValue{}
}

// moduleValue is a module by its absolute name.
func (p *pyProject) moduleValue(name string) pyValue {
	if _, ok := p.modules[name]; ok || p.packages[name] {
		return pyValue{kind: pyModule, name: name}
	}
	return pyValue{kind: pyExternal, name: name}
}

// member is base.attr.
func (p *pyProject) member(base pyValue, attr string, depth int) pyValue {
	if depth > maxDepth {
		return pyValue{}
	}
	switch base.kind {
	case pyModule:
		if f, ok := p.modules[base.name]; ok {
			if v := p.cachedModuleMember(f, attr, depth); v.kind != pyUnknown {
				return v
			}
		}
		sub := base.name + "." + attr
		if _, ok := p.modules[sub]; ok || p.packages[sub] {
			return pyValue{kind: pyModule, name: sub}
		}
	case pyExternal:
		return pyValue{kind: pyExternal, name: base.name + "." + attr}
	case pyClass, pyInstance:
		return p.classAttr(base, attr, depth)
	}
	return pyValue{}
}

// classAttr is an attribute assigned in the body of a project class or of
// one of its project bases ("API_V1_STR: str = '/api/v1'" in a settings
// class), or a method defined there.
func (p *pyProject) classAttr(class pyValue, attr string, depth int) pyValue {
	if depth > maxDepth {
		return pyValue{}
	}
	f := class.scope.file
	for _, st := range namedChildren(field(class.node, "body")) {
		if def := definition(st); def != nil && f.text(field(def, "name")) == attr {
			return pyValue{kind: pyFunc, node: def, scope: pyScope{file: f}}
		}
		a := st.NamedChild(0)
		if st.Type() == "expression_statement" && nodeType(a) == "assignment" && f.text(field(a, "left")) == attr {
			if right := field(a, "right"); right != nil {
				return p.eval(right, pyScope{file: f}, depth+1)
			}
		}
	}
	for _, base := range p.bases(class, depth) {
		if base.kind == pyClass {
			if v := p.classAttr(base, attr, depth+1); v.kind != pyUnknown {
				return v
			}
		}
	}
	return pyValue{}
}

// classAssign is the expression assigned to name in the body of a project
// class or of its project bases; nil if none.
func (p *pyProject) classAssign(class pyValue, name string) *node {
	if class.kind != pyClass {
		return nil
	}
	if v := p.classAttr(class, name, 0); v.kind == pyExpr {
		return v.node
	}
	return nil
}

// bases evaluates the base classes of a project class.
func (p *pyProject) bases(class pyValue, depth int) []pyValue {
	var out []pyValue
	for _, b := range namedChildren(field(class.node, "superclasses")) {
		if b.Type() != "keyword_argument" {
			out = append(out, p.eval(b, pyScope{file: class.scope.file}, depth+1))
		}
	}
	return out
}

// definition is the function or class a statement defines, nil otherwise.
func definition(st *node) *node {
	if st.Type() == "decorated_definition" {
		st = field(st, "definition")
	}
	switch nodeType(st) {
	case "function_definition", "class_definition":
		return st
	}
	return nil
}

// returned is what a project function returns: the first return statement
// whose value the evaluator can follow.
func (p *pyProject) returned(fn pyValue, depth int) pyValue {
	s := pyScope{file: fn.scope.file, fn: fn.node}
	var found pyValue
	walkBlock(field(fn.node, "body"), s, func(st *node, in pyScope) {
		if found.kind != pyUnknown || in.fn != fn.node || st.Type() != "return_statement" {
			return
		}
		if v := p.eval(st.NamedChild(0), in, depth+1); v.kind != pyUnknown {
			found = v
		}
	})
	return found
}
