package endpoints

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// External corpus: apps written elsewhere (public repositories), kept out
// of this repository and named by PREVIEW_ENDPOINTS_CORPUS, laid out like
// testdata/endpoints: <dir>/<framework>/<app>/. The ground truth comes from
// the same dumpers, in the same runtime images.

// externalCorpusEnv names the external corpus directory.
const externalCorpusEnv = "PREVIEW_ENDPOINTS_CORPUS"

// The goal on code written elsewhere, per framework.
const (
	externalMinPrecision = 0.97
	externalMinRecall    = 0.95
)

func TestAccuracyExternalCorpus(t *testing.T) {
	dir := os.Getenv(externalCorpusEnv)
	if dir == "" {
		t.Skipf("%s is not set: no external corpus to measure (see README, endpoint discovery)", externalCorpusEnv)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	requireDocker(t)
	var fws []framework.Name
	for _, fw := range corpusFrameworks {
		if st, err := os.Stat(filepath.Join(dir, string(fw))); err == nil && st.IsDir() {
			fws = append(fws, fw)
		}
	}
	if len(fws) == 0 {
		t.Fatalf("%s=%s holds none of %v", externalCorpusEnv, dir, corpusFrameworks)
	}
	tables := make([]map[string]truthApp, len(fws))
	errs := make([]error, len(fws))
	var wg sync.WaitGroup
	for i, fw := range fws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tables[i], errs[i] = dumpRoutes(dir, fw)
		}()
	}
	wg.Wait()

	var report, details strings.Builder
	fmt.Fprintf(&report, "%-8s %5s %7s %6s %6s %7s %9s %6s\n", "", "apps", "skipped", "truth", "found", "matched", "precision", "recall")
	for i, fw := range fws {
		if errs[i] != nil {
			t.Errorf("%v", errs[i])
			continue
		}
		// An app that does not load in the runtime image (a package the
		// image lacks) has no ground truth: it is counted and named, not
		// scored.
		loaded := map[string]truthApp{}
		var skipped []string
		for name, app := range tables[i] {
			if app.Error != "" {
				skipped = append(skipped, name)
				continue
			}
			loaded[name] = app
		}
		sort.Strings(skipped)
		for _, name := range skipped {
			fmt.Fprintf(&details, "%s skipped:        %s: %s\n", fw, name, firstLine([]byte(tables[i][name].Error)))
		}
		s := compare(t, fw, dir, loaded)
		fmt.Fprintf(&report, "%-8s %5d %7d %6d %6d %7d %9.3f %6.3f\n", fw, s.apps, len(skipped), s.truth, s.found, s.matched, s.precision(), s.recall())
		for _, m := range s.misses {
			fmt.Fprintf(&details, "%s miss:           %s\n", fw, m)
		}
		for _, x := range s.extras {
			fmt.Fprintf(&details, "%s false positive: %s\n", fw, x)
		}
		if s.precision() < externalMinPrecision || s.recall() < externalMinRecall {
			t.Errorf("%s: precision %.3f recall %.3f on %s, want ≥ %.2f and ≥ %.2f",
				fw, s.precision(), s.recall(), dir, externalMinPrecision, externalMinRecall)
		}
	}
	out := report.String() + details.String()
	t.Logf("endpoint accuracy on the external corpus %s:\n%s", dir, out)
	fmt.Print(out)
}
