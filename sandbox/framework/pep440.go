package framework

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// pyVersion is a PEP 440 version, parsed for ordering.
type pyVersion struct {
	epoch   int
	release []int
	pre     *[2]int // {0: a, 1: b, 2: rc} and its number; nil: not a pre-release
	post    int     // -1: none
	dev     int     // -1: none
	local   string
}

var rePyVersion = regexp.MustCompile(`^v?(?:(\d+)!)?(\d+(?:\.\d+)*)` +
	`(?:[-_.]?(a|alpha|b|beta|c|rc|pre|preview)[-_.]?(\d*))?` +
	`(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d*))?` +
	`(?:[-_.]?(dev)[-_.]?(\d*))?` +
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)

// parsePyVersion parses a PEP 440 version (normalised forms accepted).
func parsePyVersion(s string) (pyVersion, bool) {
	m := rePyVersion.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return pyVersion{}, false
	}
	v := pyVersion{post: -1, dev: -1, local: m[10]}
	v.epoch, _ = strconv.Atoi(m[1])
	for _, p := range strings.Split(m[2], ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return pyVersion{}, false
		}
		v.release = append(v.release, n)
	}
	if m[3] != "" {
		kind := 0
		switch m[3] {
		case "b", "beta":
			kind = 1
		case "c", "rc", "pre", "preview":
			kind = 2
		}
		n, _ := strconv.Atoi(m[4])
		v.pre = &[2]int{kind, n}
	}
	if m[5] != "" {
		v.post, _ = strconv.Atoi(m[5])
	} else if m[6] != "" {
		v.post, _ = strconv.Atoi(m[7])
	}
	if m[8] != "" {
		v.dev, _ = strconv.Atoi(m[9])
	}
	return v, true
}

func (v pyVersion) isPre() bool { return v.pre != nil || v.dev >= 0 }

// releaseAt returns the i-th release number, 0 past its end.
func (v pyVersion) releaseAt(i int) int {
	if i < len(v.release) {
		return v.release[i]
	}
	return 0
}

// cmpPyVersion orders two versions as PEP 440 does, local labels aside.
func cmpPyVersion(a, b pyVersion) int {
	if c := cmpInt(a.epoch, b.epoch); c != 0 {
		return c
	}
	for i := 0; i < max(len(a.release), len(b.release)); i++ {
		if c := cmpInt(a.releaseAt(i), b.releaseAt(i)); c != 0 {
			return c
		}
	}
	// A dev release with nothing else comes before the pre-releases.
	preKey := func(v pyVersion) [2]int {
		switch {
		case v.pre == nil && v.post < 0 && v.dev >= 0:
			return [2]int{-1, 0}
		case v.pre == nil:
			return [2]int{3, 0}
		}
		return *v.pre
	}
	pa, pb := preKey(a), preKey(b)
	if c := cmpInt(pa[0], pb[0]); c != 0 {
		return c
	}
	if c := cmpInt(pa[1], pb[1]); c != 0 {
		return c
	}
	if c := cmpInt(a.post, b.post); c != 0 {
		return c
	}
	devKey := func(v pyVersion) int {
		if v.dev < 0 {
			return 1 << 30
		}
		return v.dev
	}
	return cmpInt(devKey(a), devKey(b))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pyClause is one clause of a specifier set, like ">=2.0" or "==1.4.*".
type pyClause struct {
	op       string
	raw      string // the version as written
	v        pyVersion
	wildcard bool // "==1.4.*" or "!=1.4.*"
}

// parsePySpec parses a comma-separated PEP 440 specifier set ("" is none).
func parsePySpec(spec string) ([]pyClause, error) {
	var out []pyClause
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m := reClause.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("bad version clause %q", part)
		}
		c := pyClause{op: m[1], raw: strings.TrimSpace(m[2])}
		if c.op == "===" {
			out = append(out, c)
			continue
		}
		raw := c.raw
		if strings.HasSuffix(raw, ".*") {
			if c.op != "==" && c.op != "!=" {
				return nil, fmt.Errorf("a wildcard only goes with == or != (%q)", part)
			}
			c.wildcard, raw = true, strings.TrimSuffix(raw, ".*")
		}
		v, ok := parsePyVersion(raw)
		if !ok {
			return nil, fmt.Errorf("bad version %q", c.raw)
		}
		if c.op == "~=" && len(v.release) < 2 {
			return nil, fmt.Errorf("~= needs at least two release numbers (%q)", part)
		}
		c.v = v
		out = append(out, c)
	}
	return out, nil
}

var reClause = regexp.MustCompile(`^(===|==|!=|<=|>=|~=|<|>)\s*(\S+)$`)

// pySpecAllows reports whether version satisfies every clause. A
// pre-release is allowed only when a clause names one, as pip does.
func pySpecAllows(clauses []pyClause, version string) bool {
	v, ok := parsePyVersion(version)
	if !ok {
		// Only an arbitrary equality (===) can match what PEP 440 cannot read.
		for _, c := range clauses {
			if c.op != "===" || !strings.EqualFold(c.raw, version) {
				return false
			}
		}
		return len(clauses) > 0
	}
	if v.isPre() {
		named := false
		for _, c := range clauses {
			named = named || c.v.isPre()
		}
		if !named {
			return false
		}
	}
	for _, c := range clauses {
		if !c.allows(v, version) {
			return false
		}
	}
	return true
}

func (c pyClause) allows(v pyVersion, raw string) bool {
	noLocal := v
	noLocal.local = ""
	switch c.op {
	case "===":
		return strings.EqualFold(c.raw, raw)
	case "==", "!=":
		eq := false
		if c.wildcard {
			eq = v.epoch == c.v.epoch && prefixMatch(v.release, c.v.release)
		} else {
			eq = cmpPyVersion(noLocal, c.v) == 0 && (c.v.local == "" || c.v.local == v.local)
		}
		return eq == (c.op == "==")
	case ">=":
		return cmpPyVersion(noLocal, c.v) >= 0
	case "<=":
		return cmpPyVersion(noLocal, c.v) <= 0
	case ">":
		// ">1.7" allows no post-release of 1.7.
		return cmpPyVersion(noLocal, c.v) > 0 && !(sameRelease(v, c.v) && v.post >= 0 && c.v.post < 0)
	case "<":
		// "<1.7" allows no pre-release of 1.7 unless it names one.
		return cmpPyVersion(noLocal, c.v) < 0 && !(sameRelease(v, c.v) && v.isPre() && !c.v.isPre())
	case "~=":
		// ~=X.Y.Z means >=X.Y.Z, ==X.Y.*
		prefix := c.v.release[:len(c.v.release)-1]
		return cmpPyVersion(noLocal, c.v) >= 0 && v.epoch == c.v.epoch && prefixMatch(v.release, prefix)
	}
	return false
}

// prefixMatch reports whether release starts with prefix, release padded
// with zeros.
func prefixMatch(release, prefix []int) bool {
	for i, n := range prefix {
		got := 0
		if i < len(release) {
			got = release[i]
		}
		if got != n {
			return false
		}
	}
	return true
}

func sameRelease(a, b pyVersion) bool {
	return a.epoch == b.epoch && prefixMatch(a.release, b.release) && prefixMatch(b.release, a.release)
}
