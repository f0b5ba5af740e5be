package cause

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var brokenRoot = filepath.Join("..", "..", "testdata", "broken")

// captured is one app's output as the integration test recorded it.
type captured struct {
	Output   []string `json:"output"`
	ExitCode *int     `json:"exit_code"`
	OOM      bool     `json:"oom_killed"`
	TimedOut bool     `json:"timed_out"`
	Sockets  []Socket `json:"sockets"`
	// PidsRefused is what the shim read from the pids cgroup.
	PidsRefused int `json:"pids_refused"`
}

func readSources(t *testing.T, app string) map[string]string {
	t.Helper()
	root := filepath.Join(brokenRoot, app)
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCapturedCorpus diagnoses the captured output of every broken app in
// testdata/broken and checks each against the manifest.
func TestCapturedCorpus(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(brokenRoot, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want []Expected
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	var score Score
	for _, w := range want {
		raw, err := os.ReadFile(filepath.Join(brokenRoot, "captures", w.App+".json"))
		if err != nil {
			t.Fatalf("%s: no capture (run TestBrokenCorpus with CAUSE_CAPTURE=1): %v", w.App, err)
		}
		var c captured
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		got := Diagnose(c.Output, Facts{ExitCode: c.ExitCode, OOMKilled: c.OOM, TimedOut: c.TimedOut,
			Timeout: "20s", Port: 8000, Sources: readSources(t, w.App), Sockets: c.Sockets, SocketsSeen: len(c.Sockets) > 0, PidsRefused: c.PidsRefused})
		score.Add(w, got)
		t.Run(w.App, func(t *testing.T) {
			if got.Kind != w.Kind || got.File != w.File || got.Line != w.Line {
				t.Errorf("got %s %s:%d (%s), want %s %s:%d", got.Kind, got.File, got.Line, got.Message, w.Kind, w.File, w.Line)
			}
			if !reflect.DeepEqual(got.MissingEnv, w.MissingEnv) && len(w.MissingEnv)+len(got.MissingEnv) > 0 {
				t.Errorf("missing_env %v, want %v", got.MissingEnv, w.MissingEnv)
			}
			if got.Message == "" || got.Hint == "" {
				t.Errorf("empty message or hint: %+v", got)
			}
			for _, s := range []string{got.File, got.Message} {
				if strings.Contains(s, "/usr/") || strings.Contains(s, "/app/") {
					t.Errorf("a path of the image in %q", s)
				}
			}
		})
	}
	t.Logf("confusion table:\n%s", score.Table())
}

func intp(n int) *int { return &n }

// TestDiagnose covers the kinds the output alone does not give, and the
// output shapes of each framework beside the corpus.
func TestDiagnose(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		facts Facts
		want  Cause // Kind, File, Line and Symbol are compared
	}{
		{"oom wins over the output", []string{"Traceback (most recent call last):", `  File "/app/main.py", line 3, in <module>`, "MemoryError"},
			Facts{ExitCode: intp(137), OOMKilled: true}, Cause{Kind: OOM}},
		{"pids: no new thread", []string{"RuntimeError: can't start new thread"}, Facts{ExitCode: intp(1)}, Cause{Kind: PidsLimit}},
		{"pids: fork refused", []string{"sh: fork: Resource temporarily unavailable"}, Facts{ExitCode: intp(1)}, Cause{Kind: PidsLimit}},
		{"crash loop without a trace", []string{"bye"}, Facts{ExitCode: intp(1), CrashLoop: true, Restarts: 3}, Cause{Kind: CrashLoop}},
		{"crash loop with a traceback keeps its line", []string{"Traceback (most recent call last):", `  File "/app/worker.py", line 4, in run`,
			"    1 / 0", "ZeroDivisionError: division by zero"}, Facts{ExitCode: intp(1), CrashLoop: true, Restarts: 2},
			Cause{Kind: CrashLoop, File: "worker.py", Line: 4, Symbol: "ZeroDivisionError"}},
		{"exit without a trace", []string{"starting", "done"}, Facts{ExitCode: intp(0)}, Cause{Kind: Exit}},
		{"a stdout line inside the traceback", []string{"Traceback (most recent call last):", `  File "/app/main.py", line 13, in <module>`,
			"crash sample: importing main", `    raise RuntimeError("boom on import")`, "RuntimeError: boom on import"},
			Facts{ExitCode: intp(1)}, Cause{Kind: ExceptionAtStart, File: "main.py", Line: 13, Symbol: "RuntimeError"}},
		{"a log line is no exception", []string{"Traceback (most recent call last):", `  File "/app/main.py", line 2, in <module>`,
			"INFO: Started server process [1]", "KeyError: 'DATABASE_URL'"},
			Facts{ExitCode: intp(1)}, Cause{Kind: ExceptionAtStart, File: "main.py", Line: 2, Symbol: "KeyError"}},
		{"pip: no such distribution", []string{"ERROR: Could not find a version that satisfies the requirement fastapi-magic==9 (from versions: none)",
			"ERROR: No matching distribution found for fastapi-magic==9"}, Facts{BuildFailed: true}, Cause{Kind: DependencyInstall, Symbol: "fastapi-magic"}},
		{"pip: the pin is placed in requirements.txt", []string{"ERROR: No matching distribution found for fastapi-magic==9"},
			Facts{BuildFailed: true, Sources: map[string]string{"main.py": "import fastapi_magic\n", "requirements.txt": "fastapi\nfastapi-magic==9\n"}},
			Cause{Kind: DependencyInstall, File: "requirements.txt", Line: 2, Symbol: "fastapi-magic"}},
		{"pip: conflict", []string{"ERROR: Cannot install fastapi==0.1 and starlette==0.30 because these package versions have conflicting dependencies.",
			"ERROR: ResolutionImpossible: for help visit https://pip.pypa.io"}, Facts{BuildFailed: true}, Cause{Kind: VersionConflict}},
		{"npm: ERESOLVE", []string{"npm ERR! code ERESOLVE", "npm ERR! ERESOLVE unable to resolve dependency tree"}, Facts{BuildFailed: true}, Cause{Kind: VersionConflict}},
		{"listens on the right address but never answers", []string{"Server running at http://0.0.0.0:8000/"}, Facts{TimedOut: true, Port: 8000}, Cause{Kind: Timeout}},
		{"listens on another port", []string{"Example app listening on port 3000"}, Facts{TimedOut: true, Port: 8000}, Cause{Kind: PortNotOpened}},
		{"gunicorn's own socket does not count", []string{"[2026-12-07 08:00:00 +0000] [1] [INFO] Listening at: http://0.0.0.0:8000 (1)", "sleeping"},
			Facts{TimedOut: true, Port: 8000}, Cause{Kind: PortNotOpened}},
		{"gunicorn: no such attribute", []string{"[2026-12-07 08:00:00 +0000] [7] [INFO] Booting worker with pid: 7",
			"Failed to find attribute 'app' in 'main'.", "[2026-12-07 08:00:00 +0000] [7] [INFO] Worker exiting (pid: 7)"},
			Facts{ExitCode: intp(4)}, Cause{Kind: ExceptionAtStart, File: "main.py", Symbol: "app"}},
		{"django system check", []string{"SystemCheckError: System check identified some issues:", "", "ERRORS:",
			"blog.Post.author: (fields.E300) Field defines a relation with model 'Usr', which is either not installed, or is abstract."},
			Facts{ExitCode: intp(1), Sources: map[string]string{"blog/models.py": "class Post(models.Model):\n    author = models.ForeignKey('Usr')\n"}},
			Cause{Kind: ExceptionAtStart, File: "blog/models.py", Line: 2, Symbol: "fields.E300"}},
		{"python: innermost frame of the app, not the framework's", []string{
			"Traceback (most recent call last):",
			`  File "/usr/lib/python3/dist-packages/uvicorn/importer.py", line 21, in import_from_string`,
			"    module = importlib.import_module(module_str)",
			`  File "/app/main.py", line 3, in <module>`,
			"    from routers import items",
			`  File "/app/routers/items.py", line 12, in <module>`,
			"    price = PRICES[name]",
			`  File "/usr/lib/python3.11/collections/__init__.py", line 1, in __getitem__`,
			"KeyError: 'banana'"}, Facts{ExitCode: intp(1)}, Cause{Kind: ExceptionAtStart, File: "routers/items.py", Line: 12, Symbol: "KeyError"}},
		{"python: a dependency's own files are not the app's", []string{
			"Traceback (most recent call last):",
			`  File "/app/main.py", line 2, in <module>`,
			"    import lib",
			`  File "/app/node_modules/x/y.py", line 9, in <module>`,
			"ValueError: bad"}, Facts{ExitCode: intp(1)}, Cause{Kind: ExceptionAtStart, File: "main.py", Line: 2, Symbol: "ValueError"}},
		{"node: ESM syntax error", []string{"file:///app/src/index.mjs:4", "app.get('/', (req, res) => {", "                          ^", "",
			"SyntaxError: Unexpected token '{'", "    at ModuleLoader.moduleStrategy (node:internal/modules/esm/translators:119:18)"},
			Facts{ExitCode: intp(1)}, Cause{Kind: SyntaxError, File: "src/index.mjs", Line: 4, Symbol: "SyntaxError"}},
		{"node: listen on an address the container lacks", []string{"node:events:495", "      throw er; // Unhandled 'error' event", "      ^", "",
			"Error: listen EADDRNOTAVAIL: address not available 192.168.1.50:8000",
			"    at Server.setupListenHandle [as _listen2] (node:net:1797:21)", "    at listenInCluster (node:net:1862:12)"},
			Facts{ExitCode: intp(1), Sources: map[string]string{"server.js": "const app = require('express')();\n\napp.listen(8000, HOST);\n"}},
			Cause{Kind: PortNotOpened, File: "server.js", Line: 3, Symbol: "EADDRNOTAVAIL"}},
		{"python: env var named in the message", []string{"Traceback (most recent call last):", `  File "/app/main.py", line 7, in <module>`,
			`    raise RuntimeError("OPENAI_API_KEY environment variable is not set")`, "RuntimeError: OPENAI_API_KEY environment variable is not set"},
			Facts{ExitCode: intp(1)}, Cause{Kind: MissingEnv, File: "main.py", Line: 7, Symbol: "OPENAI_API_KEY"}},
		{"node: a look-alike line is not an error report", []string{"Error: could not reach the cache, continuing"}, Facts{ExitCode: intp(0)}, Cause{Kind: Exit}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Diagnose(c.lines, c.facts)
			if got.Kind != c.want.Kind || got.File != c.want.File || got.Line != c.want.Line || (c.want.Symbol != "" && got.Symbol != c.want.Symbol) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if got.Message == "" || got.Hint == "" {
				t.Fatalf("empty message or hint: %+v", got)
			}
		})
	}
}
