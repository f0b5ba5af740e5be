package cause

import (
	"fmt"
	"sort"
	"strings"
)

// Expected is one broken app of a corpus and the cause it should get. An
// empty File means the failure has no line to point at (the app never
// listened, or exited without a trace).
type Expected struct {
	App        string   `json:"app"`
	Kind       string   `json:"kind"`
	File       string   `json:"file"`
	Line       int      `json:"line"`
	MissingEnv []string `json:"missing_env"`
}

// Score tallies a corpus run: kinds right, file:line right where one is
// expected, and the confusion between expected and reported kinds.
type Score struct {
	Apps, KindsRight, Placed, PlacedRight int
	confusion                             map[[2]string]int
	Misses                                []string
}

// Add records the cause got for an expected app.
func (s *Score) Add(want Expected, got Cause) {
	if s.confusion == nil {
		s.confusion = map[[2]string]int{}
	}
	s.Apps++
	s.confusion[[2]string{want.Kind, got.Kind}]++
	ok := got.Kind == want.Kind
	if ok {
		s.KindsRight++
	}
	if want.File != "" {
		s.Placed++
		if got.File == want.File && got.Line == want.Line {
			s.PlacedRight++
		} else {
			ok = false
		}
	}
	if !ok {
		s.Misses = append(s.Misses, fmt.Sprintf("%s: want %s %s:%d, got %s %s:%d (%s)",
			want.App, want.Kind, want.File, want.Line, got.Kind, got.File, got.Line, got.Message))
	}
}

// KindRate and PlaceRate are the fractions right.
func (s *Score) KindRate() float64 { return ratio(s.KindsRight, s.Apps) }

// PlaceRate is the fraction of apps with an expected file:line that got it.
func (s *Score) PlaceRate() float64 { return ratio(s.PlacedRight, s.Placed) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Table is the confusion table: a row per expected kind, a column per
// reported kind.
func (s *Score) Table() string {
	kinds := map[string]bool{}
	for k := range s.confusion {
		kinds[k[0]], kinds[k[1]] = true, true
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s", "expected \\ got")
	for _, n := range names {
		fmt.Fprintf(&b, " %6.6s", n)
	}
	b.WriteString("\n")
	for _, row := range names {
		fmt.Fprintf(&b, "%-20s", row)
		for _, col := range names {
			fmt.Fprintf(&b, " %6d", s.confusion[[2]string{row, col}])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "kind right %d/%d (%.0f%%), file:line right %d/%d (%.0f%%)\n",
		s.KindsRight, s.Apps, 100*s.KindRate(), s.PlacedRight, s.Placed, 100*s.PlaceRate())
	return b.String()
}
