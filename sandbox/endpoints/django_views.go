package endpoints

import (
	"strings"
)

// Which methods a Django view serves. A class-based view serves the
// handlers it and its bases define (View.dispatch looks them up by name);
// Django's and REST framework's generic views are known by name. A
// function view serves what its require_http_methods / require_GET /
// require_POST / require_safe / api_view decorator allows, and every
// method when it has none: that is one row with method ALL.

// djangoGenericViews lists the handlers of the framework's view classes,
// as Django 3.2 and REST framework 3.14 define them. OPTIONS, which every
// view answers, is left out.
var djangoGenericViews = map[string][]string{
	"TemplateView": {"get"}, "ListView": {"get"}, "DetailView": {"get"},
	"ArchiveIndexView": {"get"}, "YearArchiveView": {"get"}, "MonthArchiveView": {"get"},
	"WeekArchiveView": {"get"}, "DayArchiveView": {"get"}, "TodayArchiveView": {"get"},
	"DateDetailView": {"get"}, "BaseListView": {"get"}, "BaseDetailView": {"get"},
	"RedirectView": {"get", "post", "put", "patch", "delete", "head"},
	"FormView":     {"get", "post", "put"}, "CreateView": {"get", "post", "put"},
	"UpdateView": {"get", "post", "put"}, "ProcessFormView": {"get", "post", "put"},
	"BaseFormView": {"get", "post", "put"}, "BaseCreateView": {"get", "post", "put"},
	"BaseUpdateView": {"get", "post", "put"}, "LoginView": {"get", "post", "put"},
	"PasswordChangeView": {"get", "post", "put"}, "PasswordResetView": {"get", "post", "put"},
	"PasswordResetConfirmView": {"get", "post", "put"}, "LogoutView": {"get", "post"},
	"DeleteView": {"get", "post", "delete"}, "BaseDeleteView": {"get", "post", "delete"},
	"DeletionMixin": {"post", "delete"},
	"ListAPIView":   {"get"}, "RetrieveAPIView": {"get"}, "CreateAPIView": {"post"},
	"ListCreateAPIView": {"get", "post"}, "UpdateAPIView": {"put", "patch"},
	"DestroyAPIView": {"delete"}, "RetrieveUpdateAPIView": {"get", "put", "patch"},
	"RetrieveDestroyAPIView":       {"get", "delete"},
	"RetrieveUpdateDestroyAPIView": {"get", "put", "patch", "delete"},
}

// djMethod is one method a view serves, with the docstring that describes it.
type djMethod struct {
	method string
	doc    string
}

func (dj *django) viewMethods(view *node, s pyScope) []djMethod {
	if nodeType(view) == "call" {
		recv, m := calledMethod(s.file, view)
		if m == "as_view" {
			return dj.classViewMethods(dj.p.eval(recv, s, 0), arg(s.file, view, 0, "actions"), s)
		}
		// csrf_exempt(view), login_required(view): the wrapped view decides.
		if inner := arg(s.file, view, 0, ""); inner != nil {
			return dj.viewMethods(inner, s)
		}
	}
	v := dj.p.eval(view, s, 0)
	if v.kind == pyExpr && nodeType(v.node) == "call" && !v.node.Equal(view) {
		return dj.viewMethods(v.node, v.scope) // todo_list = TodoViewSet.as_view({...})
	}
	if v.kind != pyFunc {
		return []djMethod{{method: MethodAll}}
	}
	doc := docOf(v)
	var out []djMethod
	for _, m := range functionViewMethods(dj.p, v) {
		out = append(out, djMethod{method: m, doc: doc})
	}
	return out
}

// functionViewMethods reads a function view's method decorators, else
// the methods it names when it answers 405 itself.
func functionViewMethods(p *pyProject, fn pyValue) []string {
	if m := decoratorMethods(p, fn); m != nil {
		return m
	}
	if m := notAllowedMethods(p, fn); m != nil {
		return m
	}
	return []string{MethodAll}
}

func decoratorMethods(p *pyProject, fn pyValue) []string {
	parent := fn.node.Parent()
	if nodeType(parent) != "decorated_definition" {
		return nil
	}
	f := fn.scope.file
	for _, d := range namedChildren(parent) {
		if d.Type() != "decorator" {
			continue
		}
		expr := d.NamedChild(0)
		callee, args := expr, (*node)(nil)
		if nodeType(expr) == "call" {
			callee, args = field(expr, "function"), arg(f, expr, 0, "")
		}
		switch lastName(f.text(callee)) {
		case "require_GET":
			return []string{"GET"}
		case "require_POST":
			return []string{"POST"}
		case "require_safe":
			return []string{"GET", "HEAD"}
		case "require_http_methods", "api_view":
			if m := upper(p.strs(args, pyScope{file: f})); len(m) > 0 {
				return m
			}
			if lastName(f.text(callee)) == "api_view" {
				return []string{"GET"}
			}
		}
	}
	return nil
}

// notAllowedMethods reads "return HttpResponseNotAllowed([...])", with
// which a view that branches on request.method turns the rest away.
func notAllowedMethods(p *pyProject, fn pyValue) []string {
	var methods []string
	s := pyScope{file: fn.scope.file, fn: fn.node}
	walkBlock(field(fn.node, "body"), s, func(st *node, in pyScope) {
		if methods != nil || in.fn != fn.node || st.Type() != "return_statement" {
			return
		}
		call := st.NamedChild(0)
		if nodeType(call) == "call" && lastName(s.file.text(field(call, "function"))) == "HttpResponseNotAllowed" {
			methods = upper(p.strs(arg(s.file, call, 0, "permitted_methods"), s))
		}
	})
	return methods
}

// classViewMethods lists the methods of X in X.as_view(actions): the keys
// of a REST framework viewset's actions dict, else the handlers X defines.
func (dj *django) classViewMethods(class pyValue, actions *node, s pyScope) []djMethod {
	classDoc := ""
	if class.kind == pyClass {
		classDoc = docOf(class)
	}
	if nodeType(actions) == "dictionary" {
		var out []djMethod
		for _, pair := range namedChildren(actions) {
			if m, ok := dj.p.str(field(pair, "key"), s, 0); ok {
				out = append(out, djMethod{method: strings.ToUpper(m), doc: classDoc})
			}
		}
		return out
	}
	handlers := map[string]bool{}
	dj.classHandlers(class, handlers, 0)
	if allowed := dj.p.strs(dj.p.classAssign(class, "http_method_names"), class.scope); len(allowed) > 0 {
		for h := range handlers {
			if !contains(allowed, h) {
				delete(handlers, h)
			}
		}
	}
	var out []djMethod
	for _, h := range httpHandlers {
		if !handlers[h] {
			continue
		}
		m := djMethod{method: strings.ToUpper(h), doc: classDoc}
		if class.kind == pyClass {
			if fn := dj.p.classAttr(class, h, 0); fn.kind == pyFunc && docOf(fn) != "" {
				m.doc = docOf(fn)
			}
		}
		out = append(out, m)
	}
	return out
}

// classHandlers collects the handlers a class and its bases define.
func (dj *django) classHandlers(class pyValue, into map[string]bool, depth int) {
	if depth > maxDepth {
		return
	}
	switch class.kind {
	case pyExternal:
		for _, h := range djangoGenericViews[lastName(class.name)] {
			into[h] = true
		}
	case pyClass:
		for _, h := range definedHandlers(dj.p, class, httpHandlers) {
			into[h] = true
		}
		for _, b := range dj.p.bases(class, depth) {
			dj.classHandlers(b, into, depth+1)
		}
	}
}

// regexPiece converts a re_path() regex to {name} form when it is a plain
// string with named groups: ^items/(?P<pk>[0-9]+)/$ is items/{pk}/. An
// optional trailing slash (/?$, as REST framework's format suffixes and
// routers write it) is left out: the path without it is the one that
// matches both ways. Any other regex syntax cannot be written with {}, and
// the piece stays the regex itself. testdata/endpoints/dump/routes.py does
// the same.
func regexPiece(re string) djPiece {
	raw := djPiece{text: re}
	s := strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$")
	if strings.HasSuffix(re, "$") {
		s = strings.TrimSuffix(s, "/?")
	}
	var b strings.Builder
	types := map[string]string{}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], "(?P<"):
			end := strings.IndexByte(s[i:], '>')
			closing := closingParen(s, i)
			if end < 0 || closing < 0 {
				return raw
			}
			name := s[i+4 : i+end]
			types[name] = "string"
			if body := s[i+end+1 : closing]; body == `\d+` || body == "[0-9]+" {
				types[name] = "integer"
			}
			b.WriteString("{" + name + "}")
			i = closing + 1
		case c == '\\':
			if i+1 >= len(s) || !isRegexPunct(s[i+1]) {
				return raw
			}
			b.WriteByte(s[i+1])
			i += 2
		case strings.IndexByte(".^$*+?{}[]|()", c) >= 0:
			return raw
		default:
			b.WriteByte(c)
			i++
		}
	}
	return djPiece{text: b.String(), types: types}
}

func isRegexPunct(c byte) bool {
	return strings.IndexByte(`.^$*+?{}[]|()\/-_~`, c) >= 0
}

// closingParen is the index of the parenthesis closing the group that
// opens at s[open], skipping escapes and character classes; -1 if none.
func closingParen(s string, open int) int {
	depth, inClass := 0, false
	for i := open; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
