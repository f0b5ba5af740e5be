package framework

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PEP 508 environment markers, evaluated for the python runtime image, so
// that "pywin32; sys_platform == 'win32'" or a backport for old Pythons is
// not reported as missing.

// markerEnv is the runtime image: Debian bookworm's CPython 3.11 on Linux.
func markerEnv(name string) (string, bool) {
	switch name {
	case "os_name":
		return "posix", true
	case "sys_platform":
		return "linux", true
	case "platform_system":
		return "Linux", true
	case "platform_machine":
		return "x86_64", true
	case "platform_python_implementation":
		return "CPython", true
	case "implementation_name":
		return "cpython", true
	case "python_version":
		return "3.11", true
	case "python_full_version", "implementation_version":
		return "3.11.2", true
	case "platform_release", "platform_version", "extra":
		return "", true
	}
	return "", false
}

// evalMarker evaluates a marker expression such as
// `python_version < "3.8" and sys_platform != "win32"`.
func evalMarker(s string) (bool, error) {
	toks, err := markerTokens(s)
	if err != nil {
		return false, err
	}
	p := &markerParser{toks: toks}
	v, err := p.or()
	if err != nil {
		return false, err
	}
	if p.i != len(p.toks) {
		return false, fmt.Errorf("unexpected %q", p.toks[p.i].text)
	}
	return v, nil
}

type markerTok struct {
	text   string
	quoted bool
}

func markerTokens(s string) ([]markerTok, error) {
	var out []markerTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			out = append(out, markerTok{text: string(c)})
			i++
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, errors.New("unterminated string")
			}
			out = append(out, markerTok{text: s[i+1 : i+1+end], quoted: true})
			i += end + 2
		case strings.ContainsRune("<>=!~", rune(c)):
			j := i
			for j < len(s) && strings.ContainsRune("<>=!~", rune(s[j])) {
				j++
			}
			out = append(out, markerTok{text: s[i:j]})
			i = j
		default:
			j := i
			for j < len(s) && (isPyIdentChar(s[j]) || s[j] == '.') {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q", s[i:i+1])
			}
			out = append(out, markerTok{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type markerParser struct {
	toks []markerTok
	i    int
}

func (p *markerParser) peek(word string) bool {
	return p.i < len(p.toks) && !p.toks[p.i].quoted && p.toks[p.i].text == word
}

func (p *markerParser) or() (bool, error) {
	v, err := p.and()
	for err == nil && p.peek("or") {
		p.i++
		var w bool
		w, err = p.and()
		v = v || w
	}
	return v, err
}

func (p *markerParser) and() (bool, error) {
	v, err := p.expr()
	for err == nil && p.peek("and") {
		p.i++
		var w bool
		w, err = p.expr()
		v = v && w
	}
	return v, err
}

func (p *markerParser) expr() (bool, error) {
	if p.peek("(") {
		p.i++
		v, err := p.or()
		if err != nil {
			return false, err
		}
		if !p.peek(")") {
			return false, errors.New("missing )")
		}
		p.i++
		return v, nil
	}
	left, err := p.value()
	if err != nil {
		return false, err
	}
	if p.i >= len(p.toks) {
		return false, errors.New("missing operator")
	}
	op := p.toks[p.i].text
	p.i++
	if op == "not" {
		if !p.peek("in") {
			return false, errors.New("'not' without 'in'")
		}
		p.i++
		op = "not in"
	}
	right, err := p.value()
	if err != nil {
		return false, err
	}
	return compareMarker(left, op, right)
}

func (p *markerParser) value() (string, error) {
	if p.i >= len(p.toks) {
		return "", errors.New("missing value")
	}
	t := p.toks[p.i]
	p.i++
	if t.quoted {
		return t.text, nil
	}
	v, ok := markerEnv(t.text)
	if !ok {
		return "", fmt.Errorf("unknown marker variable %q", t.text)
	}
	return v, nil
}

// compareMarker applies op, comparing as versions when both sides are
// versions, as PEP 508 says, and as strings otherwise.
func compareMarker(a, op, b string) (bool, error) {
	switch op {
	case "in":
		return strings.Contains(b, a), nil
	case "not in":
		return !strings.Contains(b, a), nil
	case "===":
		return a == b, nil
	}
	va, okA := parseVersion(a)
	vb, okB := parseVersion(b)
	if !okA || !okB {
		switch op {
		case "==":
			return a == b, nil
		case "!=":
			return a != b, nil
		}
		return false, fmt.Errorf("%q %s %q compares non-versions", a, op, b)
	}
	c := compareVersions(va, vb)
	switch op {
	case "==":
		return c == 0, nil
	case "!=":
		return c != 0, nil
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	case "~=":
		// ~=3.8 means >=3.8 and ==3.*.
		if len(vb) < 2 {
			return false, fmt.Errorf("~=%s needs two components", b)
		}
		return c >= 0 && compareVersions(va[:min(len(va), len(vb)-1)], vb[:len(vb)-1]) == 0, nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

// parseVersion reads a release version such as "3.11" or "3.8.*" (the
// wildcard reads as 0, close enough for the markers in requirements files).
func parseVersion(s string) ([]int, bool) {
	if s == "" {
		return nil, false
	}
	var out []int
	for _, part := range strings.Split(s, ".") {
		if part == "*" {
			out = append(out, 0)
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func compareVersions(a, b []int) int {
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
