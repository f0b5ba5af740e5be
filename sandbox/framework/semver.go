package framework

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// semVersion is a semantic version as npm reads it.
type semVersion struct {
	num [3]int
	pre []string // dot-separated identifiers; nil: a release
}

var reSemVersion = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$`)

func parseSemVersion(s string) (semVersion, bool) {
	m := reSemVersion.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return semVersion{}, false
	}
	var v semVersion
	for i := 0; i < 3; i++ {
		v.num[i], _ = strconv.Atoi(m[i+1])
	}
	if m[4] != "" {
		v.pre = strings.Split(m[4], ".")
	}
	return v, true
}

func cmpSemVersion(a, b semVersion) int {
	for i := 0; i < 3; i++ {
		if c := cmpInt(a.num[i], b.num[i]); c != 0 {
			return c
		}
	}
	switch {
	case a.pre == nil && b.pre == nil:
		return 0
	case a.pre == nil:
		return 1
	case b.pre == nil:
		return -1
	}
	for i := 0; i < min(len(a.pre), len(b.pre)); i++ {
		x, xerr := strconv.Atoi(a.pre[i])
		y, yerr := strconv.Atoi(b.pre[i])
		var c int
		switch {
		case xerr == nil && yerr == nil:
			c = cmpInt(x, y)
		case xerr == nil:
			c = -1
		case yerr == nil:
			c = 1
		default:
			c = strings.Compare(a.pre[i], b.pre[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmpInt(len(a.pre), len(b.pre))
}

// semComparator is one ">=1.2.3"; op "" means "=".
type semComparator struct {
	op string
	v  semVersion
}

// semRange is a range's alternatives ("||"), each a set of comparators
// that must all hold.
type semRange [][]semComparator

// ErrUncheckedSpec is a dependency spec that names no version range (a
// URL, a path, a git repository, a dist-tag like "latest").
var ErrUncheckedSpec = fmt.Errorf("not a version range")

var (
	reSemPartial = regexp.MustCompile(`^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$`)
	reSemHyphen  = regexp.MustCompile(`^(\S+)\s+-\s+(\S+)$`)
	reSemOpSpace = regexp.MustCompile(`(>=|<=|>|<|=|~>|~|\^)\s+`)
)

// parseSemRange parses an npm range: "^1.2.3", "~1.2", "1.x", ">=1 <2",
// "1.2.3 - 2.3.4", "a || b", "*" or "" (any). A spec that is no range at all
// (a URL, "file:", "npm:", a dist-tag) returns ErrUncheckedSpec.
func parseSemRange(spec string) (semRange, error) {
	spec = strings.TrimSpace(spec)
	if strings.Contains(spec, ":") || strings.Contains(spec, "/") {
		return nil, ErrUncheckedSpec
	}
	var out semRange
	for _, alt := range strings.Split(spec, "||") {
		alt = strings.TrimSpace(reSemOpSpace.ReplaceAllString(strings.TrimSpace(alt), "$1"))
		var set []semComparator
		if m := reSemHyphen.FindStringSubmatch(alt); m != nil {
			lo, err := semPartialBound(">=", m[1])
			if err != nil {
				return nil, err
			}
			hi, err := semPartialBound("<=", m[2])
			if err != nil {
				return nil, err
			}
			set = append(append(set, lo...), hi...)
		} else {
			for _, word := range strings.Fields(alt) {
				cs, err := semComparators(word)
				if err != nil {
					return nil, err
				}
				set = append(set, cs...)
			}
		}
		out = append(out, set)
	}
	return out, nil
}

// semPartial is a version with any of its numbers missing or "x".
type semPartial struct {
	n   [3]int
	set int // how many leading numbers are given
	pre []string
}

func parseSemPartial(s string) (semPartial, error) {
	m := reSemPartial.FindStringSubmatch(s)
	if m == nil {
		if strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' }) < 0 {
			return semPartial{}, ErrUncheckedSpec // a dist-tag such as "latest"
		}
		return semPartial{}, fmt.Errorf("bad version %q", s)
	}
	var p semPartial
	for i := 0; i < 3; i++ {
		g := m[i+1]
		if g == "" || g == "x" || g == "X" || g == "*" {
			break
		}
		p.n[i], _ = strconv.Atoi(g)
		p.set++
	}
	if m[4] != "" && p.set == 3 {
		p.pre = strings.Split(m[4], ".")
	}
	return p, nil
}

func (p semPartial) version() semVersion { return semVersion{num: p.n, pre: p.pre} }

// bump returns the version after p's last given number: 1.2 → 1.3.0-0.
func (p semPartial) bump(at int) semVersion {
	v := semVersion{pre: []string{"0"}}
	copy(v.num[:at+1], p.n[:at+1])
	v.num[at]++
	return v
}

func semPartialBound(op, s string) ([]semComparator, error) {
	p, err := parseSemPartial(s)
	if err != nil {
		return nil, err
	}
	if p.set == 0 {
		return nil, nil
	}
	if op == "<=" && p.set < 3 {
		return []semComparator{{"<", p.bump(p.set - 1)}}, nil
	}
	return []semComparator{{op, p.version()}}, nil
}

// semComparators expands one word of a range ("^1.2", ">=2", "1.x").
func semComparators(word string) ([]semComparator, error) {
	op := ""
	for _, o := range []string{">=", "<=", "~>", ">", "<", "=", "~", "^"} {
		if strings.HasPrefix(word, o) {
			op, word = o, word[len(o):]
			break
		}
	}
	p, err := parseSemPartial(word)
	if err != nil {
		return nil, err
	}
	lo := func() semComparator { return semComparator{">=", p.version()} }
	switch op {
	case "", "=":
		if p.set == 3 {
			return []semComparator{{"", p.version()}}, nil
		}
		if p.set == 0 {
			return nil, nil
		}
		return []semComparator{lo(), {"<", p.bump(p.set - 1)}}, nil
	case "~", "~>":
		if p.set == 0 {
			return nil, nil
		}
		return []semComparator{lo(), {"<", p.bump(min(p.set-1, 1))}}, nil
	case "^":
		if p.set == 0 {
			return nil, nil
		}
		// The first non-zero number given may not change.
		at := 0
		for at < p.set-1 && p.n[at] == 0 {
			at++
		}
		if p.set < 3 && at == p.set-1 && p.n[at] == 0 {
			// ^0.x, ^0.0.x: the given zeros hold.
			return []semComparator{lo(), {"<", p.bump(at)}}, nil
		}
		return []semComparator{lo(), {"<", p.bump(at)}}, nil
	case ">":
		if p.set == 0 {
			return []semComparator{{"<", semVersion{pre: []string{"0"}}}}, nil // nothing
		}
		if p.set < 3 {
			return []semComparator{{">=", p.bump(p.set - 1)}}, nil
		}
		return []semComparator{{">", p.version()}}, nil
	case ">=":
		if p.set == 0 {
			return nil, nil
		}
		return []semComparator{lo()}, nil
	case "<":
		if p.set == 0 {
			return []semComparator{{"<", semVersion{pre: []string{"0"}}}}, nil
		}
		v := p.version()
		if p.pre == nil {
			v.pre = []string{"0"}
		}
		return []semComparator{{"<", v}}, nil
	case "<=":
		if p.set == 0 {
			return nil, nil
		}
		return semPartialBound("<=", word)
	}
	return nil, fmt.Errorf("bad range %q", word)
}

func (c semComparator) test(v semVersion) bool {
	d := cmpSemVersion(v, c.v)
	switch c.op {
	case "":
		return d == 0
	case ">=":
		return d >= 0
	case "<=":
		return d <= 0
	case ">":
		return d > 0
	case "<":
		return d < 0
	}
	return false
}

// semRangeAllows reports whether version is in the range. A pre-release
// is in it only when a comparator of the same alternative names a
// pre-release of the same major.minor.patch, as npm decides.
func semRangeAllows(r semRange, version string) bool {
	v, ok := parseSemVersion(version)
	if !ok {
		return false
	}
	for _, set := range r {
		all := true
		for _, c := range set {
			if !c.test(v) {
				all = false
				break
			}
		}
		if !all {
			continue
		}
		if v.pre == nil {
			return true
		}
		for _, c := range set {
			if c.v.pre != nil && c.v.num == v.num && !(len(c.v.pre) == 1 && c.v.pre[0] == "0" && c.op == "<") {
				return true
			}
		}
	}
	return false
}
