package endpoints

import (
	"path"
	"strings"
)

// The Python side: a project of parsed modules and a small evaluator that
// follows names through assignments, imports, attribute access and calls
// of project functions far enough to tell which framework object (an app,
// a router, a blueprint) or which function or class an expression means.

// pyProject is every Python module of a generation.
type pyProject struct {
	files    []*pyFile
	modules  map[string]*pyFile // dotted name, from the generation root
	packages map[string]bool    // every dotted package prefix, namespace packages too
	resolved map[string]string  // import name → canonical dotted name, "" if external
	calls    []pyCallSite       // statement calls, once collected
	args     map[argKey]pyValue // what callers pass, by parameter
	budget   *budget
}

// pyFile is one parsed module.
type pyFile struct {
	*source
	module   string
	isPkg    bool
	bindings map[*node]map[string]pyBinding // by scope: nil is the module
	args     map[*node]pyArgs               // by call
	members  map[string]pyValue             // top-level names already evaluated
	docs     map[*node]string               // docstrings, by definition
	stmts    []pyStmt                       // every statement, as walkStatements visits them

	signatures map[*node][]pyParam // parameters, by function definition
	classBases map[string][]string // base class names of the module's classes
}

// pyScope is where a name is looked up: a function body, then its module.
type pyScope struct {
	file *pyFile
	fn   *node // function_definition; nil for module level
	loop *node // the innermost for statement the code runs in, if any

	// iteration binds a loop's targets to one element of what it iterates,
	// when a statement in a loop is read once per element.
	iteration map[string]scopedExpr
}

// scopedExpr is an expression and the scope it is evaluated in.
type scopedExpr struct {
	node  *node
	scope pyScope
}

func newPyProject(files map[string][]byte, b *budget) *pyProject {
	p := &pyProject{modules: map[string]*pyFile{}, packages: map[string]bool{}, resolved: map[string]string{}, args: map[argKey]pyValue{}, budget: b}
	p.files = parseAll(files, sourcePaths(files, ".py"), pythonGrammar, b, newPyFile)
	for _, f := range p.files {
		p.modules[f.module] = f
		parts := strings.Split(f.module, ".")
		for i := 1; i < len(parts); i++ {
			p.packages[strings.Join(parts[:i], ".")] = true
		}
	}
	return p
}

// newPyFile reads what a module says on its own: its name, its top-level
// bindings, its statements and the calls they make, and the docstrings and
// signatures of decorated functions. It runs on a parsing goroutine, which
// is where per-file work costs least.
func newPyFile(s *source) *pyFile {
	f := &pyFile{source: s, bindings: map[*node]map[string]pyBinding{}, args: map[*node]pyArgs{},
		members: map[string]pyValue{}, docs: map[*node]string{},
		signatures: map[*node][]pyParam{}, classBases: map[string][]string{}}
	mod := strings.TrimSuffix(s.path, ".py")
	if path.Base(mod) == "__init__" {
		f.isPkg = true
		mod = path.Dir(mod)
	}
	f.module = strings.ReplaceAll(mod, "/", ".")
	f.scopeBindings(nil)
	collectClasses(f, f.root, f.classBases)
	walkBlock(f.root, pyScope{file: f}, func(st *node, s pyScope) {
		f.stmts = append(f.stmts, f.readStatement(st, s))
	})
	return f
}

// pyStmt is a statement with the scope it runs in and the calls the
// frameworks look at, read once.
type pyStmt struct {
	st         *node
	scope      pyScope
	call       pyCall   // what an expression statement calls; call.node is nil otherwise
	decorators []pyCall // the decorator calls of a decorated definition
	def        *node    // the function or class a decorated definition defines
}

// pyCall is a call, split when it has the form receiver.method(...).
type pyCall struct {
	node     *node
	receiver *node
	method   string
}

func (f *pyFile) readStatement(st *node, s pyScope) pyStmt {
	out := pyStmt{st: st, scope: s}
	switch st.Type() {
	case "expression_statement":
		if c := st.NamedChild(0); nodeType(c) == "call" {
			out.call = f.readCall(c)
		}
	case "decorated_definition":
		for _, d := range namedChildren(st) {
			if d.Type() == "decorator" && nodeType(d.NamedChild(0)) == "call" {
				out.decorators = append(out.decorators, f.readCall(d.NamedChild(0)))
			}
		}
		out.def = field(st, "definition")
		if out.def.Type() == "function_definition" {
			f.docstring(out.def)
			f.signature(out.def)
		}
	}
	return out
}

// readCall splits a call and reads its arguments.
func (f *pyFile) readCall(call *node) pyCall {
	c := pyCall{node: call}
	if fn := field(call, "function"); nodeType(fn) == "attribute" {
		c.receiver, c.method = field(fn, "object"), f.text(field(fn, "attribute"))
	}
	callArgs(f, call)
	return c
}

// canonical maps an absolute import name to the project's dotted name of
// that module or package, or "" when it is not part of the project. Apps
// often live below the generation root (backend/app/main.py imports
// app.routers), so a name that matches only a suffix is accepted; the
// shortest such match wins.
func (p *pyProject) canonical(name string) string {
	if c, ok := p.resolved[name]; ok {
		return c
	}
	c := ""
	if _, ok := p.modules[name]; ok || p.packages[name] {
		c = name
	} else {
		suffix := "." + name
		for m := range p.modules {
			if strings.HasSuffix(m, suffix) && (c == "" || len(m) < len(c) || len(m) == len(c) && m < c) {
				c = m
			}
		}
		for m := range p.packages {
			if strings.HasSuffix(m, suffix) && (c == "" || len(m) < len(c) || len(m) == len(c) && m < c) {
				c = m
			}
		}
	}
	p.resolved[name] = c
	return c
}

// relative resolves a relative import: level dots and module (maybe "")
// from file f.
func relative(f *pyFile, level int, module string) string {
	pkg := f.module
	if !f.isPkg {
		pkg = parentModule(pkg)
	}
	for i := 1; i < level; i++ {
		pkg = parentModule(pkg)
	}
	switch {
	case module == "":
		return pkg
	case pkg == "":
		return module
	}
	return pkg + "." + module
}

func parentModule(m string) string {
	if i := strings.LastIndexByte(m, '.'); i >= 0 {
		return m[:i]
	}
	return ""
}

// pyBindKind says how a name got its value.
type pyBindKind int

const (
	bindAssign pyBindKind = iota // name = value
	bindImport                   // import a.b [as name]
	bindFrom                     // from m import x [as name]
	bindDef                      // def name
	bindClass                    // class name
	bindParam                    // a parameter of the scope's function
)

// pyBinding is the last binding of a name in a scope.
type pyBinding struct {
	kind     pyBindKind
	node     *node  // the value, definition or parameter
	module   string // imported module: as written if absolute, resolved if relative
	absolute bool   // module is an absolute import name, to be made canonical
	name     string // imported name of a from-import
	index    int    // parameter position
}

// scopeBindings collects the names bound in a scope, compound statements
// included, nested functions and classes excluded.
func (p *pyProject) scopeBindings(s pyScope) map[string]pyBinding {
	return s.file.scopeBindings(s.fn)
}

// scopeBindings collects the names bound in fn's body, or at module level
// when fn is nil.
func (f *pyFile) scopeBindings(fn *node) map[string]pyBinding {
	if b, ok := f.bindings[fn]; ok {
		return b
	}
	b := map[string]pyBinding{}
	f.bindings[fn] = b
	body := f.root
	if fn != nil {
		body = field(fn, "body")
		bindParams(f, fn, b)
	}
	f.bindBlock(body, b)
	return b
}

func bindParams(f *pyFile, fn *node, b map[string]pyBinding) {
	for i, param := range namedChildren(field(fn, "parameters")) {
		if name := paramName(param); name != nil {
			b[f.text(name)] = pyBinding{kind: bindParam, node: fn, index: i}
		}
	}
}

func (f *pyFile) bindBlock(block *node, b map[string]pyBinding) {
	for _, st := range namedChildren(block) {
		switch st.Type() {
		case "expression_statement":
			a := st.NamedChild(0)
			if nodeType(a) == "assignment" && nodeType(field(a, "left")) == "identifier" && field(a, "right") != nil {
				b[f.text(field(a, "left"))] = pyBinding{kind: bindAssign, node: field(a, "right")}
			}
		case "import_statement":
			f.bindImport(st, b)
		case "import_from_statement":
			f.bindFromImport(st, b)
		case "function_definition":
			b[f.text(field(st, "name"))] = pyBinding{kind: bindDef, node: st}
		case "class_definition":
			b[f.text(field(st, "name"))] = pyBinding{kind: bindClass, node: st}
		case "decorated_definition":
			def := field(st, "definition")
			kind := bindDef
			if nodeType(def) == "class_definition" {
				kind = bindClass
			}
			b[f.text(field(def, "name"))] = pyBinding{kind: kind, node: def}
		default:
			for _, inner := range innerBlocks(st) {
				f.bindBlock(inner, b)
			}
		}
	}
}

// bindImport binds "import a.b.c" (a) and "import a.b.c as x" (x).
func (f *pyFile) bindImport(st *node, b map[string]pyBinding) {
	for _, n := range namedChildren(st) {
		switch n.Type() {
		case "dotted_name":
			first, _, _ := strings.Cut(f.text(n), ".")
			b[first] = pyBinding{kind: bindImport, module: first, absolute: true}
		case "aliased_import":
			b[f.text(field(n, "alias"))] = pyBinding{kind: bindImport, module: f.text(field(n, "name")), absolute: true}
		}
	}
}

// bindFromImport binds the names of "from [..]m import x [as y], *".
func (f *pyFile) bindFromImport(st *node, b map[string]pyBinding) {
	modNode := field(st, "module_name")
	mod, absolute := f.text(modNode), true
	if nodeType(modNode) == "relative_import" {
		level, name := 0, ""
		for _, c := range namedChildren(modNode) {
			if c.Type() == "import_prefix" {
				level = len(f.text(c))
			} else {
				name = f.text(c)
			}
		}
		mod, absolute = relative(f, level, name), false
	}
	for _, n := range namedChildren(st) {
		if n.Equal(modNode) {
			continue
		}
		switch n.Type() {
		case "dotted_name":
			name := f.text(n)
			b[name] = pyBinding{kind: bindFrom, module: mod, absolute: absolute, name: name}
		case "aliased_import":
			b[f.text(field(n, "alias"))] = pyBinding{kind: bindFrom, module: mod, absolute: absolute, name: f.text(field(n, "name"))}
		case "wildcard_import":
			b["*"+mod] = pyBinding{kind: bindFrom, module: mod, absolute: absolute, name: "*"}
		}
	}
}

// imported is the module a binding imports, canonical when it is part of
// the project.
func (p *pyProject) imported(b pyBinding) string {
	if b.absolute {
		return p.absolute(b.module)
	}
	return b.module
}

// absolute is the canonical name of an absolute import, or the name itself
// when it is not part of the project.
func (p *pyProject) absolute(name string) string {
	if c := p.canonical(name); c != "" {
		return c
	}
	return name
}

// innerBlocks lists the blocks of a compound statement (if, try, with,
// for, while and their clauses), not of definitions.
func innerBlocks(st *node) []*node {
	if !compoundStatements[st.Type()] {
		return nil
	}
	return blocksOf(st)
}

func blocksOf(st *node) []*node {
	var out []*node
	for _, c := range namedChildren(st) {
		switch typ := c.Type(); {
		case typ == "block":
			out = append(out, c)
		case compoundStatements[typ]:
			out = append(out, blocksOf(c)...)
		}
	}
	return out
}

// compoundStatements are the statements (and clauses) that hold blocks
// run in the enclosing scope.
var compoundStatements = map[string]bool{
	"if_statement": true, "for_statement": true, "while_statement": true, "try_statement": true,
	"with_statement": true, "match_statement": true, "elif_clause": true, "else_clause": true,
	"except_clause": true, "finally_clause": true, "case_clause": true, "except_group_clause": true,
}

// paramName is the identifier a parameter binds, nil for separators.
func paramName(param *node) *node {
	switch param.Type() {
	case "identifier":
		return param
	case "typed_parameter", "list_splat_pattern", "dictionary_splat_pattern":
		for _, c := range namedChildren(param) {
			if c.Type() == "identifier" {
				return c
			}
		}
	case "default_parameter", "typed_default_parameter":
		return field(param, "name")
	}
	return nil
}

// walkStatements calls visit for every statement of every module, inside
// compound statements and function bodies too, with the scope it runs in.
// Files are visited in path order, so results are deterministic.
func (p *pyProject) walkStatements(visit func(s *pyStmt)) {
	for _, f := range p.files {
		for i := range f.stmts {
			if p.budget.expired() {
				return
			}
			visit(&f.stmts[i])
		}
	}
}

// walkBlock calls visit for each statement of block and, recursively, of
// its compound statements and function bodies.
func walkBlock(block *node, s pyScope, visit func(*node, pyScope)) {
	for _, st := range namedChildren(block) {
		visit(st, s)
		switch typ := st.Type(); {
		case typ == "function_definition":
			walkBlock(field(st, "body"), pyScope{file: s.file, fn: st}, visit)
		case typ == "decorated_definition":
			if def := field(st, "definition"); def.Type() == "function_definition" {
				walkBlock(field(def, "body"), pyScope{file: s.file, fn: def}, visit)
			}
		case typ == "for_statement":
			inLoop := s
			inLoop.loop = st
			for _, inner := range blocksOf(st) {
				walkBlock(inner, inLoop, visit)
			}
		case compoundStatements[typ]:
			for _, inner := range blocksOf(st) {
				walkBlock(inner, s, visit)
			}
		}
		// Methods of a class never declare routes in these frameworks.
	}
}
