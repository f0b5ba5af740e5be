package endpoints

import (
	"path"
	"strings"
)

// The JavaScript side: CommonJS and ES modules, and an evaluator that
// follows names through declarations, destructuring, require() and
// import, module.exports and export, and calls of project functions, far
// enough to tell which Express app or router an expression means.

type jsProject struct {
	files   []*jsFile
	byPath  map[string]*jsFile
	exports map[*jsFile]*jsExports
	calls   []jsCallSite
	args    map[argKey]jsValue // what callers pass, by parameter
	budget  *budget
}

type jsFile struct {
	*source
	bindings map[*node]map[string]jsBinding // by scope: nil is the module
}

// jsScope is a function body inside its enclosing scopes, or a module.
type jsScope struct {
	file   *jsFile
	fn     *node // a function node; nil for the module
	parent *jsScope
}

func newJSProject(files map[string][]byte, b *budget) *jsProject {
	p := &jsProject{byPath: map[string]*jsFile{}, exports: map[*jsFile]*jsExports{}, args: map[argKey]jsValue{}, budget: b}
	newFile := func(s *source) *jsFile {
		return &jsFile{source: s, bindings: map[*node]map[string]jsBinding{}}
	}
	p.files = parseAll(files, sourcePaths(files, ".js", ".mjs", ".cjs"), javascriptGrammar, b, newFile)
	for _, f := range p.files {
		p.byPath[f.path] = f
	}
	return p
}

// resolve finds the file require(spec) or import spec loads from file
// from; nil for packages (express, cors) and missing files.
func (p *jsProject) resolve(from *jsFile, spec string) *jsFile {
	if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
		return nil
	}
	base := path.Join(path.Dir(from.path), spec)
	for _, candidate := range []string{base, base + ".js", base + ".mjs", base + ".cjs", base + "/index.js", base + "/index.mjs"} {
		if f, ok := p.byPath[candidate]; ok {
			return f
		}
	}
	return nil
}

type jsBindKind int

const (
	jsBindValue       jsBindKind = iota // const x = value
	jsBindDestructure                   // const { prop: x } = value
	jsBindFunc                          // function x() {}
	jsBindImport                        // import x / { name as x } / * as x from "spec"
	jsBindParam                         // a parameter of the scope's function
)

type jsBinding struct {
	kind  jsBindKind
	node  *node  // value, function, or the function a parameter belongs to
	prop  string // destructured property; imported name ("default", "*", or a name)
	spec  string // import source
	index int    // parameter position
}

func (p *jsProject) scopeBindings(s *jsScope) map[string]jsBinding {
	if b, ok := s.file.bindings[s.fn]; ok {
		return b
	}
	b := map[string]jsBinding{}
	s.file.bindings[s.fn] = b
	body := s.file.root
	if s.fn != nil {
		for i, param := range namedChildren(field(s.fn, "parameters")) {
			if name := jsParamName(param); name != nil {
				b[s.file.text(name)] = jsBinding{kind: jsBindParam, node: s.fn, index: i}
			}
		}
		if single := field(s.fn, "parameter"); single != nil {
			b[s.file.text(single)] = jsBinding{kind: jsBindParam, node: s.fn}
		}
		body = field(s.fn, "body")
	}
	p.bindBlock(s.file, body, b)
	return b
}

func jsParamName(param *node) *node {
	switch param.Type() {
	case "identifier":
		return param
	case "assignment_pattern":
		return jsParamName(field(param, "left"))
	}
	return nil
}

func (p *jsProject) bindBlock(f *jsFile, block *node, b map[string]jsBinding) {
	for _, st := range namedChildren(block) {
		switch st.Type() {
		case "lexical_declaration", "variable_declaration":
			bindDeclarators(f, st, b)
		case "function_declaration", "generator_function_declaration":
			b[f.text(field(st, "name"))] = jsBinding{kind: jsBindFunc, node: st}
		case "import_statement":
			bindJSImport(f, st, b)
		case "expression_statement":
			bindAssignments(f, st.NamedChild(0), b)
		case "export_statement":
			if field(st, "declaration") != nil {
				p.bindBlock(f, st, b)
			}
		default:
			if isCompound(st) {
				p.bindBlock(f, st, b)
			}
		}
	}
}

func bindDeclarators(f *jsFile, decl *node, b map[string]jsBinding) {
	for _, d := range namedChildren(decl) {
		if d.Type() != "variable_declarator" {
			continue
		}
		name, value := field(d, "name"), field(d, "value")
		if value == nil {
			continue
		}
		switch name.Type() {
		case "identifier":
			b[f.text(name)] = jsBinding{kind: jsBindValue, node: value}
		case "object_pattern":
			for _, prop := range namedChildren(name) {
				switch prop.Type() {
				case "shorthand_property_identifier_pattern":
					b[f.text(prop)] = jsBinding{kind: jsBindDestructure, node: value, prop: f.text(prop)}
				case "pair_pattern":
					if v := field(prop, "value"); nodeType(v) == "identifier" {
						b[f.text(v)] = jsBinding{kind: jsBindDestructure, node: value, prop: f.text(field(prop, "key"))}
					}
				}
			}
		}
	}
}

// bindAssignments binds the plain names a statement-level assignment
// chain sets (let app; app = express(); or a = b = express()), unless a
// declaration already gave them a value: the declaration is what the
// evaluator trusts, an assignment only fills a name declared without one.
func bindAssignments(f *jsFile, e *node, b map[string]jsBinding) {
	value := jsAssigned(e)
	for nodeType(e) == "assignment_expression" {
		if left := field(e, "left"); nodeType(left) == "identifier" {
			if _, ok := b[f.text(left)]; !ok {
				b[f.text(left)] = jsBinding{kind: jsBindValue, node: value}
			}
		}
		e = field(e, "right")
	}
}

func bindJSImport(f *jsFile, st *node, b map[string]jsBinding) {
	spec := jsStringLiteral(f, field(st, "source"))
	for _, clause := range namedChildren(st) {
		if clause.Type() != "import_clause" {
			continue
		}
		for _, c := range namedChildren(clause) {
			switch c.Type() {
			case "identifier":
				b[f.text(c)] = jsBinding{kind: jsBindImport, spec: spec, prop: "default"}
			case "namespace_import":
				b[f.text(c.NamedChild(0))] = jsBinding{kind: jsBindImport, spec: spec, prop: "*"}
			case "named_imports":
				for _, s := range namedChildren(c) {
					local := field(s, "alias")
					if local == nil {
						local = field(s, "name")
					}
					b[f.text(local)] = jsBinding{kind: jsBindImport, spec: spec, prop: f.text(field(s, "name"))}
				}
			}
		}
	}
}

// jsStringLiteral is the value of a plain string or template literal
// without substitutions; "" otherwise.
func jsStringLiteral(f *jsFile, n *node) string {
	s, _ := jsString(f, n)
	return s
}

func jsString(f *jsFile, n *node) (string, bool) {
	switch nodeType(n) {
	case "string", "template_string":
	default:
		return "", false
	}
	var b strings.Builder
	for _, c := range namedChildren(n) {
		switch c.Type() {
		case "string_fragment":
			b.WriteString(f.text(c))
		case "escape_sequence":
			b.WriteString(unescape(f.text(c), false))
		default:
			return "", false
		}
	}
	return b.String(), true
}

// isFunction says whether n is a function value or declaration.
func isFunction(n *node) bool {
	switch nodeType(n) {
	case "function_declaration", "function_expression", "function", "arrow_function",
		"generator_function", "generator_function_declaration", "method_definition":
		return true
	}
	return false
}

// walkStatements calls visit for every statement of every file, inside
// blocks and the bodies of functions declared, assigned or exported at
// statement level (module.exports = (app) => { ... } included).
func (p *jsProject) walkStatements(visit func(st *node, s *jsScope)) {
	for _, f := range p.files {
		p.walkJSBlock(f.root, &jsScope{file: f}, visit)
	}
}

func (p *jsProject) walkJSBlock(block *node, s *jsScope, visit func(*node, *jsScope)) {
	for _, st := range namedChildren(block) {
		if p.budget.expired() {
			return
		}
		if isCompound(st) {
			p.walkJSBlock(st, s, visit)
			continue
		}
		visit(st, s)
		for _, fn := range statementFunctions(st) {
			if body := field(fn, "body"); nodeType(body) == "statement_block" {
				p.walkJSBlock(body, &jsScope{file: s.file, fn: fn, parent: s}, visit)
			}
		}
	}
}

// isCompound says whether st is a block, if, try or one of their clauses:
// something whose statements run in the same scope. Its named children are
// then walked as statements (a condition is an expression and matches
// nothing).
func isCompound(st *node) bool {
	switch st.Type() {
	case "statement_block", "if_statement", "try_statement", "else_clause", "catch_clause", "finally_clause":
		return true
	}
	return false
}

// statementFunctions lists the functions a statement declares or assigns.
func statementFunctions(st *node) []*node {
	switch st.Type() {
	case "function_declaration", "generator_function_declaration":
		return []*node{st}
	case "lexical_declaration", "variable_declaration":
		var out []*node
		for _, d := range namedChildren(st) {
			if v := field(d, "value"); isFunction(v) {
				out = append(out, v)
			}
		}
		return out
	case "export_statement":
		if v := field(st, "value"); isFunction(v) {
			return []*node{v}
		}
		if d := field(st, "declaration"); d != nil {
			return statementFunctions(d)
		}
	case "expression_statement":
		if e := st.NamedChild(0); nodeType(e) == "assignment_expression" && isFunction(field(e, "right")) {
			return []*node{field(e, "right")}
		}
	}
	return nil
}
