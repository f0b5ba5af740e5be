package endpoints

import "strings"

// Reading Python source as data: call arguments, strings, lists of strings
// and docstrings.

// pyArgs are the arguments of a call.
type pyArgs struct {
	positional []*node
	keyword    map[string]*node
}

// callArgs splits the arguments of a call, once per call: decorators and
// constructors are asked for several keywords each.
func callArgs(f *pyFile, call *node) pyArgs {
	if a, ok := f.args[call]; ok {
		return a
	}
	a := pyArgs{keyword: map[string]*node{}}
	for _, n := range namedChildren(field(call, "arguments")) {
		switch n.Type() {
		case "keyword_argument":
			a.keyword[f.text(field(n, "name"))] = field(n, "value")
		case "list_splat", "dictionary_splat", "comment":
		default:
			a.positional = append(a.positional, n)
		}
	}
	f.args[call] = a
	return a
}

// arg is the argument at position i or named name, nil if absent.
func arg(f *pyFile, call *node, i int, name string) *node {
	a := callArgs(f, call)
	if n, ok := a.keyword[name]; ok {
		return n
	}
	if i >= 0 && i < len(a.positional) {
		return a.positional[i]
	}
	return nil
}

// str evaluates a string expression: literals, concatenation, f-strings
// and names bound to them (API_PREFIX, settings.API_V1_STR).
func (p *pyProject) str(expr *node, s pyScope, depth int) (string, bool) {
	if expr == nil || depth > maxDepth {
		return "", false
	}
	switch expr.Type() {
	case "string":
		return stringLiteral(expr, s.file, func(e *node) (string, bool) { return p.str(e, s, depth+1) })
	case "concatenated_string":
		var b strings.Builder
		for _, part := range namedChildren(expr) {
			v, ok := p.str(part, s, depth+1)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		}
		return b.String(), true
	case "binary_operator":
		if s.file.text(field(expr, "operator")) != "+" {
			return "", false
		}
		l, okl := p.str(field(expr, "left"), s, depth+1)
		r, okr := p.str(field(expr, "right"), s, depth+1)
		return l + r, okl && okr
	case "identifier", "attribute", "parenthesized_expression":
		if v := p.eval(expr, s, depth+1); v.kind == pyExpr && !v.node.Equal(expr) {
			return p.str(v.node, v.scope, depth+1)
		}
	}
	return "", false
}

// stringLiteral reads a string literal; interp evaluates the expressions
// of an f-string, and nil means an f-string is not read.
func stringLiteral(n *node, f *pyFile, interp func(*node) (string, bool)) (string, bool) {
	var b strings.Builder
	raw := false
	for _, c := range namedChildren(n) {
		switch c.Type() {
		case "string_start":
			raw = strings.ContainsAny(f.text(c), "rR")
		case "string_content":
			b.WriteString(f.text(c))
		case "escape_sequence":
			b.WriteString(unescape(f.text(c), raw))
		case "interpolation":
			if interp == nil {
				return "", false
			}
			v, ok := interp(field(c, "expression"))
			if !ok {
				return "", false
			}
			b.WriteString(v)
		}
	}
	return b.String(), true
}

// unescape decodes the escapes that appear in routes and docstrings;
// Python keeps unknown escapes (\d) as they are, and so does this.
func unescape(esc string, raw bool) string {
	if raw {
		return esc
	}
	switch esc {
	case `\n`:
		return "\n"
	case `\t`:
		return "\t"
	case `\\`, `\'`, `\"`:
		return esc[1:]
	}
	return esc
}

// strs evaluates a list, tuple or set of strings (methods, tags), or a
// name bound to one.
func (p *pyProject) strs(expr *node, s pyScope) []string {
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
	var out []string
	for _, item := range namedChildren(expr) {
		if v, ok := p.str(item, s, 0); ok {
			out = append(out, v)
		}
	}
	return out
}

// docOf is the docstring of a project function or class.
func docOf(v pyValue) string {
	return v.scope.file.docstring(v.node)
}

// docstring is the docstring of a function or class definition.
func (f *pyFile) docstring(def *node) string {
	if d, ok := f.docs[def]; ok {
		return d
	}
	doc := ""
	first := field(def, "body").NamedChild(0)
	if nodeType(first) == "expression_statement" && nodeType(first.NamedChild(0)) == "string" {
		doc, _ = stringLiteral(first.NamedChild(0), f, nil)
	}
	f.docs[def] = doc
	return doc
}

// lastName is the last dotted component of a qualified name.
func lastName(qualified string) string {
	return qualified[strings.LastIndexByte(qualified, '.')+1:]
}

// calledMethod splits a call of the form receiver.method(...).
func calledMethod(f *pyFile, call *node) (receiver *node, method string) {
	fn := field(call, "function")
	if nodeType(fn) != "attribute" {
		return nil, ""
	}
	return field(fn, "object"), f.text(field(fn, "attribute"))
}
