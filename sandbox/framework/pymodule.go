package framework

// Readers of tokenized Python statements: imports, assignments and function
// definitions, the only constructs detection looks at.

// pyImport is one name bound by an import statement.
type pyImport struct {
	level  int    // leading dots of a relative from-import
	module string // dotted module; "" in "from . import x"
	name   string // the imported name of a from-import; "" for "import m"
	alias  string // the local name bound
}

// parseImports reads every import statement, at any indent: factories
// often import their blueprints and routers inside the function body.
func parseImports(stmts []pyStmt) []pyImport {
	var out []pyImport
	for _, s := range stmts {
		switch {
		case s.is(0, pyName, "import"):
			out = append(out, parsePlainImport(s)...)
		case s.is(0, pyName, "from"):
			out = append(out, parseFromImport(s)...)
		}
	}
	return out
}

// parsePlainImport reads "import a.b as c, d".
func parsePlainImport(s pyStmt) []pyImport {
	var out []pyImport
	for i := 1; i < len(s.toks); {
		mod, j := readDotted(s, i)
		if mod == "" {
			break
		}
		imp := pyImport{module: mod, alias: firstComponent(mod)}
		if s.is(j, pyName, "as") && j+1 < len(s.toks) && s.toks[j+1].kind == pyName {
			imp.alias = s.toks[j+1].text
			j += 2
		}
		out = append(out, imp)
		if !s.is(j, pyOp, ",") {
			break
		}
		i = j + 1
	}
	return out
}

// parseFromImport reads "from ..a.b import (x as y, z)" and "from m import *".
func parseFromImport(s pyStmt) []pyImport {
	level, i := 0, 1
	for ; i < len(s.toks) && s.toks[i].kind == pyOp; i++ {
		switch s.toks[i].text {
		case ".":
			level++
		case "...":
			level += 3
		default:
			return nil
		}
	}
	mod, i := readDotted(s, i)
	if !s.is(i, pyName, "import") || mod == "" && level == 0 {
		return nil
	}
	var out []pyImport
	for i++; i < len(s.toks); i++ {
		t := s.toks[i]
		switch {
		case t.kind == pyOp && (t.text == "(" || t.text == ")" || t.text == ","):
		case t.kind == pyOp && t.text == "*":
			out = append(out, pyImport{level: level, module: mod, name: "*"})
		case t.kind == pyName:
			imp := pyImport{level: level, module: mod, name: t.text, alias: t.text}
			if s.is(i+1, pyName, "as") && i+2 < len(s.toks) && s.toks[i+2].kind == pyName {
				imp.alias = s.toks[i+2].text
				i += 2
			}
			out = append(out, imp)
		default:
			return out
		}
	}
	return out
}

// readDotted reads "a.b.c" starting at token i and returns it and the index
// after it, or "" when no name is there.
func readDotted(s pyStmt, i int) (string, int) {
	if i >= len(s.toks) || s.toks[i].kind != pyName || isPyKeyword(s.toks[i].text) {
		return "", i
	}
	name := s.toks[i].text
	i++
	for s.is(i, pyOp, ".") && i+1 < len(s.toks) && s.toks[i+1].kind == pyName {
		name += "." + s.toks[i+1].text
		i += 2
	}
	return name, i
}

// classRefs says how a module can name one class, such as fastapi.FastAPI:
// by names bound with from-imports (possibly renamed), or as an attribute of
// a module alias.
type classRefs struct {
	class   string
	names   map[string]bool
	modules map[string]bool
}

// refsTo collects the ways imports let a module name class from package pkg
// (or any of its submodules, e.g. fastapi.applications).
func refsTo(imports []pyImport, pkg, class string) classRefs {
	r := classRefs{class: class, names: map[string]bool{}, modules: map[string]bool{}}
	for _, imp := range imports {
		if imp.level != 0 || !isModuleOrSub(imp.module, pkg) {
			continue
		}
		switch {
		case imp.name == class:
			r.names[imp.alias] = true
		case imp.name == "" && imp.module == pkg:
			r.modules[imp.alias] = true
		}
	}
	return r
}

func (r classRefs) any() bool { return len(r.names) > 0 || len(r.modules) > 0 }

// refAt returns how many tokens a reference to the class takes at toks[i]
// (1 for FastAPI, 3 for fastapi.FastAPI), or 0. A reference that is itself an
// attribute of something else (self.FastAPI) does not count.
func (r classRefs) refAt(toks []pyTok, i int) int {
	if i > 0 && toks[i-1].kind == pyOp && toks[i-1].text == "." {
		return 0
	}
	if i >= len(toks) || toks[i].kind != pyName {
		return 0
	}
	if r.names[toks[i].text] {
		return 1
	}
	if r.modules[toks[i].text] && i+2 < len(toks) && toks[i+1].text == "." && toks[i+2].kind == pyName && toks[i+2].text == r.class {
		return 3
	}
	return 0
}

// callAt reports whether a call of the class starts at toks[i].
func (r classRefs) callAt(toks []pyTok, i int) bool {
	n := r.refAt(toks, i)
	return n > 0 && i+n < len(toks) && toks[i+n].kind == pyOp && toks[i+n].text == "("
}

// callsIn reports whether the class is called anywhere in toks.
func (r classRefs) callsIn(toks []pyTok) bool {
	for i := range toks {
		if r.callAt(toks, i) {
			return true
		}
	}
	return false
}

// splitAssign reads "a = b = value" and "a: T = value", returning the
// targets and the value tokens; ok is false for anything else, including
// comparisons, augmented and attribute assignments.
func splitAssign(s pyStmt) (targets []string, value []pyTok, ok bool) {
	depth, start := 0, 0
	var parts [][]pyTok
	for i, t := range s.toks {
		if t.kind != pyOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case "=":
			if depth == 0 {
				parts = append(parts, s.toks[start:i])
				start = i + 1
			}
		}
	}
	if len(parts) == 0 {
		return nil, nil, false
	}
	for k, p := range parts {
		if len(p) == 0 || p[0].kind != pyName || isPyKeyword(p[0].text) {
			return nil, nil, false
		}
		annotated := k == 0 && len(parts) == 1 && len(p) > 2 && p[1].kind == pyOp && p[1].text == ":"
		if len(p) != 1 && !annotated {
			return nil, nil, false
		}
		targets = append(targets, p[0].text)
	}
	return targets, s.toks[start:], true
}

// pyDef is a module-level function definition.
type pyDef struct {
	name     string
	line     int
	required bool    // it has a parameter without a default, so it cannot be called bare
	returns  []pyTok // the return annotation
	body     []pyTok // every token of the body, flattened
}

// topLevelDefs reads the module-level function definitions.
func topLevelDefs(stmts []pyStmt) []pyDef {
	var out []pyDef
	for k, s := range stmts {
		if s.indent != 0 {
			continue
		}
		i := 0
		if s.is(0, pyName, "async") {
			i = 1
		}
		if !s.is(i, pyName, "def") || i+2 >= len(s.toks) || s.toks[i+1].kind != pyName || !s.is(i+2, pyOp, "(") {
			continue
		}
		d := pyDef{name: s.toks[i+1].text, line: s.line}
		j := i + 3
		d.required, j = requiredParams(s.toks, j)
		if s.is(j, pyOp, "->") {
			j++
			for ; j < len(s.toks) && !s.is(j, pyOp, ":"); j++ {
				d.returns = append(d.returns, s.toks[j])
			}
		}
		if j+1 < len(s.toks) { // a one-line body: def f(): return X()
			d.body = append(d.body, s.toks[j+1:]...)
		}
		for _, b := range stmts[k+1:] {
			if b.indent == 0 {
				break
			}
			d.body = append(d.body, b.toks...)
		}
		out = append(out, d)
	}
	return out
}

// requiredParams scans a parameter list starting after its "(" and reports
// whether any parameter lacks a default; it returns the index after ")".
func requiredParams(toks []pyTok, i int) (bool, int) {
	required := false
	depth := 0
	param := []pyTok{}
	end := func() {
		if len(param) == 0 {
			return
		}
		first := param[0]
		star := first.kind == pyOp && (first.text == "*" || first.text == "**" || first.text == "/")
		hasDefault := false
		for _, t := range param {
			if t.kind == pyOp && t.text == "=" {
				hasDefault = true
			}
		}
		if !star && !hasDefault {
			required = true
		}
		param = param[:0]
	}
	for ; i < len(toks); i++ {
		t := toks[i]
		if t.kind == pyOp {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth == 0 {
					end()
					return required, i + 1
				}
				depth--
			case ",":
				if depth == 0 {
					end()
					continue
				}
			}
		}
		param = append(param, t)
	}
	end()
	return required, i
}

// hasName reports whether the name token w appears in toks.
func hasName(toks []pyTok, w string) bool {
	for _, t := range toks {
		if t.kind == pyName && t.text == w {
			return true
		}
	}
	return false
}

// stringAfter returns the first string literal that follows the string
// literal key within a few tokens, which reads both
// os.environ.setdefault("K", "V") and os.environ["K"] = "V".
func stringAfter(stmts []pyStmt, key string) (string, bool) {
	for _, s := range stmts {
		for i, t := range s.toks {
			if t.kind != pyString || t.text != key {
				continue
			}
			for j := i + 1; j < len(s.toks) && j <= i+4; j++ {
				if s.toks[j].kind == pyString {
					return s.toks[j].text, true
				}
			}
		}
	}
	return "", false
}
