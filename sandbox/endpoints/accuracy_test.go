package endpoints

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// The accuracy test compares Extract with the route tables the frameworks
// themselves build. testdata/endpoints/<framework>/<app>/ holds the corpus;
// testdata/endpoints/dump/routes.py and routes.js load every app of one
// framework inside its runtime image (one docker run per framework, no
// network, read-only root) and print the framework's table as JSON.

const (
	pythonImage = "previewd/runtime-python:latest"
	nodeImage   = "previewd/runtime-node:latest"
	minScore    = 0.95
)

var corpusFrameworks = []framework.Name{framework.FastAPI, framework.Flask, framework.Django, framework.Express}

// corpusGaps says why static extraction and the framework disagree on an
// app, for the apps of the corpus that show a known limit.
var corpusGaps = map[string]string{
	"fastapi/loop-include":    "routers imported by a computed name (importlib) are not followed; MergeOpenAPI finds them",
	"express/autoload-routes": "routers mounted from a directory listing (fs.readdirSync) exist only at run time",
}

func gapReason(fw framework.Name, row string) string {
	app, _, _ := strings.Cut(row, ":")
	if why, ok := corpusGaps[string(fw)+"/"+app]; ok {
		return why
	}
	return "unexplained"
}

// truthRoute is one row of a dumped route table.
type truthRoute struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// AutoOptions is Flask's provide_automatic_options: Flask added OPTIONS
	// to the rule itself.
	AutoOptions bool `json:"auto_options"`
}

type truthApp struct {
	Routes []truthRoute `json:"routes"`
	Error  string       `json:"error"`
}

func corpusDir(t testing.TB) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "endpoints"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireDocker skips when Docker or the runtime images are missing, and
// fails instead when CI is set: CI always has them.
func requireDocker(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) {
		if os.Getenv("CI") != "" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		missing("docker not found: %v", err)
	}
	for _, image := range []string{pythonImage, nodeImage} {
		if out, err := exec.Command("docker", "image", "inspect", image).CombinedOutput(); err != nil {
			missing("image %s unavailable (run bash images/build.sh): %v: %s", image, err, firstLine(out))
		}
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// dumpRoutes runs the dumper for one framework in its runtime image, on
// the corpus in dir (testdata/endpoints or an external one).
func dumpRoutes(dir string, fw framework.Name) (map[string]truthApp, error) {
	dump, err := filepath.Abs(filepath.Join("..", "..", "testdata", "endpoints", "dump"))
	if err != nil {
		return nil, err
	}
	args := []string{"run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
		"-v", dir + ":/corpus:ro", "-v", dump + ":/dump:ro"}
	if fw == framework.Express {
		args = append(args, "--entrypoint", "node", nodeImage, "/dump/routes.js", "/corpus/express")
	} else {
		args = append(args, "--entrypoint", "python3", pythonImage, "/dump/routes.py", string(fw), "/corpus/"+string(fw))
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("docker run for %s: %w: %s", fw, err, stderr.String())
	}
	var apps map[string]truthApp
	if err := json.Unmarshal(stdout.Bytes(), &apps); err != nil {
		return nil, fmt.Errorf("decode %s route table: %w", fw, err)
	}
	return apps, nil
}

// loadApp reads one corpus app into the map Extract takes.
func loadApp(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = body
		return err
	})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return files
}

// score is the comparison of one framework's corpus.
type score struct {
	apps, truth, found, matched int
	misses, extras              []string // "app: METHOD /path"
}

func (s score) precision() float64 { return ratio(s.matched, s.found) }
func (s score) recall() float64    { return ratio(s.matched, s.truth) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// truthSet turns an app's dumped table into "METHOD path" keys.
//
// Flask adds OPTIONS to every rule (provide_automatic_options) and Werkzeug
// adds HEAD to every rule with GET; Extract lists only what the code
// declares. So an OPTIONS that Flask added is ignored, and so is a HEAD
// beside a GET, unless the code declared that HEAD itself (Extract found
// it): Werkzeug's rule does not say which HEADs were declared.
func truthSet(fw framework.Name, app truthApp, found map[string]bool) map[string]bool {
	hasGet := map[string]bool{}
	for _, r := range app.Routes {
		if r.Method == "GET" {
			hasGet[r.Path] = true
		}
	}
	set := map[string]bool{}
	for _, r := range app.Routes {
		key := r.Method + " " + r.Path
		if fw == framework.Flask {
			if r.Method == "OPTIONS" && r.AutoOptions {
				continue
			}
			if r.Method == "HEAD" && hasGet[r.Path] && !found[key] {
				continue
			}
		}
		set[key] = true
	}
	return set
}

func compare(t *testing.T, fw framework.Name, dir string, apps map[string]truthApp) score {
	var s score
	names := make([]string, 0, len(apps))
	for name := range apps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		app := apps[name]
		if app.Error != "" {
			t.Errorf("%s/%s does not load in its runtime image: %s", fw, name, app.Error)
			continue
		}
		eps := extractBytes(t, fw, loadApp(t, filepath.Join(dir, string(fw), name)))
		found := map[string]bool{}
		for _, e := range eps {
			// An unmounted router's rows claim no path of the app.
			if e.Mounted == nil || *e.Mounted {
				found[e.Method+" "+e.Path] = true
			}
		}
		truth := truthSet(fw, app, found)
		s.apps++
		s.truth += len(truth)
		s.found += len(found)
		for _, k := range sortedSet(truth) {
			if found[k] {
				s.matched++
			} else {
				s.misses = append(s.misses, name+": "+k)
			}
		}
		for _, k := range sortedSet(found) {
			if !truth[k] {
				s.extras = append(s.extras, name+": "+k)
			}
		}
	}
	return s
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestAccuracyAgainstFrameworks(t *testing.T) {
	requireDocker(t)
	dir := corpusDir(t)

	tables := make([]map[string]truthApp, len(corpusFrameworks))
	errs := make([]error, len(corpusFrameworks))
	var wg sync.WaitGroup
	for i, fw := range corpusFrameworks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tables[i], errs[i] = dumpRoutes(dir, fw)
		}()
	}
	wg.Wait()

	var report strings.Builder
	fmt.Fprintf(&report, "%-8s %5s %6s %6s %7s %9s %6s\n", "", "apps", "truth", "found", "matched", "precision", "recall")
	var details strings.Builder
	for i, fw := range corpusFrameworks {
		if errs[i] != nil {
			t.Errorf("%v", errs[i])
			continue
		}
		s := compare(t, fw, dir, tables[i])
		fmt.Fprintf(&report, "%-8s %5d %6d %6d %7d %9.3f %6.3f\n", fw, s.apps, s.truth, s.found, s.matched, s.precision(), s.recall())
		for _, m := range s.misses {
			fmt.Fprintf(&details, "%s miss:           %s  (%s)\n", fw, m, gapReason(fw, m))
		}
		for _, x := range s.extras {
			fmt.Fprintf(&details, "%s false positive: %s  (%s)\n", fw, x, gapReason(fw, x))
		}
		if s.apps < 12 {
			t.Errorf("%s: %d apps in the corpus, want at least 12", fw, s.apps)
		}
		if s.precision() < minScore || s.recall() < minScore {
			t.Errorf("%s: precision %.3f recall %.3f, want both ≥ %.2f", fw, s.precision(), s.recall(), minScore)
		}
	}
	out := report.String() + details.String()
	t.Logf("endpoint accuracy against the frameworks' own route tables:\n%s", out)
	fmt.Print(out)
}
