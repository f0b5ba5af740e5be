package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// EngineKey is the name under which a runtime image's packages list
// (/opt/previewd/packages.txt) gives its interpreter's version: Python's or
// Node's. No package of either index can have it.
const EngineKey = "@engine"

// ImageOffer is one runtime image an app may run on, and what it carries.
type ImageOffer struct {
	Name     string            // as users see it: "runtime-node-forky"
	Packages map[string]string // name → version, EngineKey included when known
}

// Choice is the image picked for an app and what it must add.
type Choice struct {
	Index int // into the offers
	// Install are the requirements the image lacks, or carries at a
	// version outside the app's constraint; installed into a derived
	// image, in the app's order.
	Install []Requirement
	// Replaced names, of Install, those the image carries at another
	// version: name → the image's version.
	Replaced map[string]string
}

// VersionConflict is a constraint no runtime image can meet, or that no
// version at all can (">=5,<4").
type VersionConflict struct {
	Name, Spec string
	Offered    []string // "runtime-node (4.21.2)", "runtime-node-forky (5.2.1)"
	Why        string   // set when the constraint itself is the problem
}

func (e *VersionConflict) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("%s %s: %s", e.Name, e.Spec, e.Why)
	}
	what := e.Name
	if e.Name == EngineKey {
		what = "the interpreter"
	}
	return fmt.Sprintf("no runtime has a version of %s that satisfies %s (available: %s)", what, e.Spec, strings.Join(e.Offered, ", "))
}

// SpecAllows reports whether version satisfies spec for the runtime's
// package kind (PEP 440 for python, npm ranges for node). checked is false
// when spec is no version range previewd can read (a URL, a dist-tag):
// such a requirement neither picks nor rules out an image.
func SpecAllows(runtime, spec, version string) (ok, checked bool) {
	if strings.TrimSpace(spec) == "" {
		return true, true
	}
	if runtime == RuntimeNode {
		r, err := parseSemRange(spec)
		if err != nil {
			return false, false
		}
		return semRangeAllows(r, version), true
	}
	if strings.HasPrefix(spec, "@") {
		return false, false
	}
	c, err := parsePySpec(spec)
	if err != nil {
		return false, false
	}
	return pySpecAllows(c, version), true
}

// CheckSpec returns an error when spec cannot be read, or no version at
// all can satisfy it.
func CheckSpec(runtime, spec string) error {
	if runtime == RuntimeNode {
		r, err := parseSemRange(spec)
		if errors.Is(err, ErrUncheckedSpec) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, set := range r {
			if !semSetEmpty(set) {
				return nil
			}
		}
		return errors.New("no version can satisfy it")
	}
	if strings.HasPrefix(spec, "@") {
		return nil
	}
	c, err := parsePySpec(spec)
	if err != nil {
		return err
	}
	if pySetEmpty(c) {
		return errors.New("no version can satisfy it")
	}
	return nil
}

// ChooseImage picks, of offers, the image to run an app with reqs and an
// interpreter constraint engine on: the first offer (the runtime's
// default image) when it satisfies every constraint on what it carries,
// else the last (newest) offer that does. When none does, the offer that
// needs the fewest installs (missed constraints and packages it lacks) is
// chosen (the default first, then the newest) and the missed packages are
// installed at the versions asked.
// An interpreter constraint cannot be installed: no offer meeting it is a
// VersionConflict, as is a constraint no version can meet.
func ChooseImage(runtime string, offers []ImageOffer, reqs []Requirement, engine string) (Choice, error) {
	for _, r := range reqs {
		if err := CheckSpec(runtime, r.Spec); err != nil {
			return Choice{}, &VersionConflict{Name: r.Name, Spec: r.Spec, Why: err.Error()}
		}
	}
	if err := CheckSpec(runtime, engine); engine != "" && err != nil {
		return Choice{}, &VersionConflict{Name: EngineKey, Spec: engine, Why: err.Error()}
	}
	if len(offers) == 0 {
		return Choice{}, errors.New("no runtime image to choose from")
	}
	type fit struct {
		ok       bool // the engine fits
		misses   int  // constraints on what the image carries that it does not meet
		installs int  // requirements to install: misses and what it lacks
	}
	fits := make([]fit, len(offers))
	anyEngine := false
	for i, o := range offers {
		v, known := o.Packages[EngineKey]
		ok, checked := SpecAllows(runtime, engine, v)
		fits[i].ok = engine == "" || !known || ok || !checked
		anyEngine = anyEngine || fits[i].ok
		for _, r := range reqs {
			if have, ok := installedVersion(o.Packages, r.Name); ok {
				if allows, checked := SpecAllows(runtime, r.Spec, have); checked && !allows {
					fits[i].misses++
				}
			} else {
				fits[i].installs++
			}
		}
		fits[i].installs += fits[i].misses
	}
	if !anyEngine {
		return Choice{}, &VersionConflict{Name: EngineKey, Spec: engine, Offered: offered(offers, EngineKey)}
	}
	// An image that meets every constraint, else the one needing the
	// fewest installs; on a tie the default stays, otherwise the newer wins.
	key := func(i int) [2]int {
		if fits[i].misses == 0 {
			return [2]int{0, 0}
		}
		return [2]int{1, fits[i].installs}
	}
	best := -1
	better := func(i int) bool {
		if !fits[i].ok {
			return false
		}
		if best < 0 {
			return true
		}
		a, b := key(i), key(best)
		return a[0] < b[0] || a[0] == b[0] && (a[1] < b[1] || a[1] == b[1] && best != 0)
	}
	for i := range offers {
		if better(i) {
			best = i
		}
	}
	ch := Choice{Index: best, Replaced: map[string]string{}}
	for _, r := range reqs {
		have, ok := installedVersion(offers[best].Packages, r.Name)
		if !ok {
			ch.Install = append(ch.Install, r)
			continue
		}
		if allows, checked := SpecAllows(runtime, r.Spec, have); checked && !allows {
			ch.Install = append(ch.Install, r)
			ch.Replaced[r.Name] = have
		}
	}
	return ch, nil
}

// Offered lists, for a message, the version of name each offer carries.
func Offered(offers []ImageOffer, name string) []string { return offered(offers, name) }

func offered(offers []ImageOffer, name string) []string {
	out := make([]string, len(offers))
	for i, o := range offers {
		v, ok := installedVersion(o.Packages, name)
		if !ok {
			v = "none"
			if name == EngineKey {
				v = "unknown"
			}
		}
		out[i] = fmt.Sprintf("%s (%s)", o.Name, v)
	}
	return out
}

// installedVersion finds name in an image's packages, after PEP 503
// normalisation for Python names.
func installedVersion(pkgs map[string]string, name string) (string, bool) {
	if v, ok := pkgs[name]; ok {
		return v, true
	}
	n := NormalizePyName(name)
	for k, v := range pkgs {
		if k != EngineKey && NormalizePyName(k) == n {
			return v, true
		}
	}
	return "", false
}

// EngineSpec returns the interpreter version an app asks for:
// pyproject.toml's requires-python (or Poetry's python), or the
// engines.node of the package.json nearest the entrypoint; "" for any.
func EngineSpec(plan Plan, files map[string][]byte) string {
	files = relativeOnly(files)
	if plan.Runtime == RuntimeNode || plan.Runtime == "" && plan.Framework == Express {
		file := nearestPackageJSON(files, plan.Entrypoint)
		if file == "" {
			return ""
		}
		var pkg struct {
			Engines map[string]any `json:"engines"`
		}
		if json.Unmarshal([]byte(withoutBOM(files[file])), &pkg) != nil {
			return ""
		}
		s, _ := pkg.Engines["node"].(string)
		return strings.TrimSpace(s)
	}
	_, python, err := pyprojectRequirements(files)
	if err != nil {
		return ""
	}
	return python
}

// semSetEmpty reports whether no version satisfies every comparator.
func semSetEmpty(set []semComparator) bool {
	var lo, hi *semComparator
	for i := range set {
		c := &set[i]
		switch c.op {
		case ">=", ">":
			if lo == nil || cmpSemVersion(c.v, lo.v) > 0 || cmpSemVersion(c.v, lo.v) == 0 && c.op == ">" {
				lo = c
			}
		case "<=", "<":
			if hi == nil || cmpSemVersion(c.v, hi.v) < 0 || cmpSemVersion(c.v, hi.v) == 0 && c.op == "<" {
				hi = c
			}
		case "":
			for _, d := range set {
				if !d.test(c.v) {
					return true
				}
			}
			return false
		}
	}
	if lo == nil || hi == nil {
		return false
	}
	d := cmpSemVersion(lo.v, hi.v)
	return d > 0 || d == 0 && (lo.op == ">" || hi.op == "<")
}

// pySetEmpty reports whether no version satisfies every clause (!= aside).
func pySetEmpty(clauses []pyClause) bool {
	var lo, hi *pyClause
	var exact []pyClause
	for i := range clauses {
		c := &clauses[i]
		switch c.op {
		case ">=", ">", "~=":
			if lo == nil || cmpPyVersion(c.v, lo.v) > 0 || cmpPyVersion(c.v, lo.v) == 0 && c.op == ">" {
				lo = c
			}
		case "<=", "<":
			if hi == nil || cmpPyVersion(c.v, hi.v) < 0 || cmpPyVersion(c.v, hi.v) == 0 && c.op == "<" {
				hi = c
			}
		case "==":
			if !c.wildcard {
				exact = append(exact, *c)
			}
		}
	}
	for _, e := range exact {
		for _, c := range clauses {
			if c.op != "===" && !c.allows(e.v, e.raw) {
				return true
			}
		}
	}
	if lo == nil || hi == nil {
		return false
	}
	d := cmpPyVersion(lo.v, hi.v)
	return d > 0 || d == 0 && (lo.op == ">" || hi.op == "<")
}

// SortedNames returns m's keys in order.
func SortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
