package endpoints

import (
	"strings"
)

// FastAPI parameters come from the handler's signature: a name in the path
// is a path parameter; a scalar is a query parameter; a pydantic model, a
// list or a dict, or anything declared with Body(...), is the body;
// Request, Depends(...) and the like are not parameters of the request.

// pyModels knows, by name, the project's pydantic models and enums.
type pyModels struct {
	kind map[string]string // class name → "model", "enum", "intenum" or ""
}

func newPyModels(p *pyProject) *pyModels {
	bases := map[string][]string{}
	for _, f := range p.files {
		for name, b := range f.classBases {
			bases[name] = b
		}
	}
	m := &pyModels{kind: map[string]string{}}
	for name := range bases {
		m.kind[name] = classKind(name, bases, map[string]bool{})
	}
	return m
}

// collectClasses records the base class names of every class in block,
// by class name.
func collectClasses(f *pyFile, block *node, bases map[string][]string) {
	for _, st := range namedChildren(block) {
		def := definition(st)
		if nodeType(def) != "class_definition" {
			for _, inner := range innerBlocks(st) {
				collectClasses(f, inner, bases)
			}
			continue
		}
		var names []string
		for _, b := range namedChildren(field(def, "superclasses")) {
			if b.Type() != "keyword_argument" {
				names = append(names, lastName(f.text(b)))
			}
		}
		bases[f.text(field(def, "name"))] = names
	}
}

// classKind follows base classes by name to BaseModel or an Enum.
func classKind(name string, bases map[string][]string, seen map[string]bool) string {
	if seen[name] {
		return ""
	}
	seen[name] = true
	for _, b := range bases[name] {
		switch b {
		case "BaseModel", "BaseSettings", "GenericModel":
			return "model"
		case "IntEnum":
			return "intenum"
		case "Enum", "StrEnum":
			return "enum"
		}
		if k := classKind(b, bases, seen); k != "" {
			return k
		}
	}
	return ""
}

// scalarTypes are the annotations FastAPI reads as one query or path value,
// with their OpenAPI type.
var scalarTypes = map[string]string{
	"int": "integer", "float": "number", "bool": "boolean", "str": "string",
	"bytes": "string", "Decimal": "number", "UUID": "string", "datetime": "string",
	"date": "string", "time": "string", "timedelta": "number", "EmailStr": "string",
	"HttpUrl": "string", "AnyUrl": "string",
}

// notRequestParams are annotations FastAPI fills itself.
var notRequestParams = map[string]bool{
	"Request": true, "Response": true, "BackgroundTasks": true, "WebSocket": true,
	"HTTPConnection": true, "SecurityScopes": true,
}

// pyParam is one parameter of a function signature, as written.
type pyParam struct {
	name        string
	annotation  pyType
	hasDefault  bool
	defaultType string // node type of the default: "integer", "call", ...
	declaredBy  string // Query, Body, Depends...: the callee of a call default
	required    bool   // no default, or a declaring call given ... or nothing
}

// signature reads the parameters of a function definition, *args and
// **kwargs left out.
func (f *pyFile) signature(def *node) []pyParam {
	if sig, ok := f.signatures[def]; ok {
		return sig
	}
	var sig []pyParam
	for _, param := range namedChildren(field(def, "parameters")) {
		nameNode := paramName(param)
		switch t := param.Type(); {
		case nameNode == nil, t == "list_splat_pattern", t == "dictionary_splat_pattern":
			continue
		}
		pr := pyParam{name: f.text(nameNode), annotation: typeName(f, field(param, "type"))}
		def := field(param, "value")
		pr.hasDefault, pr.required = def != nil, def == nil
		if def != nil {
			pr.defaultType = def.Type()
		}
		if pr.defaultType == "call" {
			pr.declaredBy = lastName(f.text(field(def, "function")))
			first := arg(f, def, 0, "default")
			pr.required = first == nil || first.Type() == "ellipsis"
		}
		sig = append(sig, pr)
	}
	f.signatures[def] = sig
	return sig
}

// params lists the parameters of handler on the normalised path.
func (fa *fastAPI) params(handler pyValue, path string) []Param {
	inPath := pathParams(path)
	var out []Param
	if handler.kind == pyFunc {
		for _, sp := range handler.scope.file.signature(handler.node) {
			if pr, ok := fa.param(sp, inPath); ok {
				out = append(out, pr)
			}
		}
	}
	for _, name := range inPath {
		if paramIndex(out, name, "path") < 0 {
			out = append(out, Param{Name: name, In: "path", Type: "string", Required: true})
		}
	}
	return out
}

func (fa *fastAPI) param(sp pyParam, inPath []string) (Param, bool) {
	pr := Param{Name: sp.name, Required: sp.required}
	switch sp.declaredBy {
	case "Depends", "Security", "Header", "Cookie":
		return Param{}, false
	case "Body", "Form", "File":
		pr.In = "body"
	case "Query":
		pr.In = "query"
	case "Path":
		pr.In = "path"
	}
	if notRequestParams[sp.annotation.base] {
		return Param{}, false
	}
	pr.Type = fa.openAPIType(sp.annotation, sp.defaultType)
	if pr.In == "" {
		pr.In = fa.location(sp.name, sp.annotation, inPath)
	}
	if pr.In == "path" {
		pr.Required = true
	}
	return pr, true
}

// location says where FastAPI looks for a parameter declared without
// Query(), Path() or Body().
func (fa *fastAPI) location(name string, t pyType, inPath []string) string {
	switch {
	case contains(inPath, name):
		return "path"
	case t.sequence || t.base == "dict" || t.base == "Dict" || fa.models.kind[t.base] == "model":
		return "body"
	}
	return "query"
}

func (fa *fastAPI) openAPIType(t pyType, defaultType string) string {
	switch {
	case t.sequence:
		return "array"
	case t.base == "dict" || t.base == "Dict":
		return "object"
	case t.base != "":
		if s, ok := scalarTypes[t.base]; ok {
			return s
		}
		switch fa.models.kind[t.base] {
		case "model":
			return t.base
		case "enum":
			return "string"
		case "intenum":
			return "integer"
		}
		return ""
	}
	switch defaultType {
	case "integer":
		return "integer"
	case "float":
		return "number"
	case "true", "false":
		return "boolean"
	case "string":
		return "string"
	}
	return ""
}

// pyType is an annotation with Optional, Union[..., None] and Annotated
// taken off.
type pyType struct {
	base     string // last name of the type: "int", "Item"
	sequence bool   // List[...], list, Set[...], Tuple[...]
}

var sequenceTypes = map[string]bool{
	"List": true, "list": true, "Set": true, "set": true, "Tuple": true, "tuple": true,
	"Sequence": true, "FrozenSet": true, "frozenset": true,
}

func typeName(f *pyFile, t *node) pyType {
	if t == nil {
		return pyType{}
	}
	return parseType(strings.Join(strings.Fields(f.text(t)), ""))
}

// parseType reads an annotation's text with spaces removed.
func parseType(s string) pyType {
	if strings.Contains(s, "|") {
		for _, part := range strings.Split(s, "|") {
			if part != "None" {
				return parseType(part)
			}
		}
	}
	outer, inner, generic := strings.Cut(s, "[")
	inner = strings.TrimSuffix(inner, "]")
	outer = lastName(outer)
	switch {
	case !generic:
		return pyType{base: outer, sequence: sequenceTypes[outer]}
	case outer == "Optional" || outer == "Annotated" || outer == "Union":
		first, _ := splitTopLevel(inner)
		if outer == "Union" && first == "None" {
			_, rest := splitTopLevel(inner)
			first, _ = splitTopLevel(rest)
		}
		return parseType(first)
	}
	return pyType{base: outer, sequence: sequenceTypes[outer]}
}

// splitTopLevel splits "a[b,c],d" at its first top-level comma.
func splitTopLevel(s string) (first, rest string) {
	depth := 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}
