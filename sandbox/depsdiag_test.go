package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox/framework"
)

// captureLines reads a captured installer output (recorded on a terminal,
// so coloured and with progress redraws) as an install delivers it: whole
// lines, cleaned, the last one trimmed.
func captureLines(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "install", name))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	parts := strings.Split(string(raw), "\n")
	for i, l := range parts {
		if i == len(parts)-1 {
			l = strings.TrimSpace(l)
		}
		if l = cleanInstallLine(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestDiagnoseInstall reads real pip and npm failures, captured in the
// runtime images against a local index, into their cause and the lines
// worth keeping.
func TestDiagnoseInstall(t *testing.T) {
	for _, tc := range []struct {
		file, runtime, kind string
		packages            []string
		available           string
		keep                []string // each must be a kept line
		drop                []string // no kept line may contain these
	}{
		{"pip-no-version.txt", "python", installNoVersion, []string{"demo-pkg==2.0"}, "1.0",
			[]string{"ERROR: Could not find a version that satisfies the requirement demo-pkg==2.0 (from versions: 1.0)", "ERROR: No matching distribution found for demo-pkg==2.0"}, nil},
		{"pip-not-found.txt", "python", installNotFound, []string{"no-such-package-previewd"}, "",
			[]string{"ERROR: No matching distribution found for no-such-package-previewd"}, nil},
		// pip with --retries 0 says nothing of the connection: the proxy's
		// record is what tells an unreachable index (see installFailure).
		{"pip-unreachable.txt", "python", installNotFound, []string{"demo-pkg==2.0"}, "",
			[]string{"ERROR: No matching distribution found for demo-pkg==2.0"}, nil},
		{"npm-no-version.txt", "node", installNoVersion, []string{"express@^5.1.0"}, "",
			[]string{"npm ERR! code ETARGET", "npm ERR! notarget No matching version found for express@^5.1.0."},
			[]string{"idealTree", "debug-0.log", "A complete log"}},
		{"npm-not-found.txt", "node", installNotFound, []string{"no-such-package-previewd@^1.0.0"}, "",
			[]string{"npm ERR! code E404", "npm ERR! 404  'no-such-package-previewd@^1.0.0' is not in this registry."},
			[]string{"debug-0.log"}},
		{"npm-unreachable.txt", "node", installUnreachable, nil, "",
			[]string{"npm ERR! code E502", "npm ERR! 502 Bad Gateway - GET https://registry.example.org/express"}, nil},
		{"npm-refused.txt", "node", installUnreachable, nil, "",
			[]string{"npm ERR! code ECONNREFUSED", "npm ERR! FetchError: request to http://127.0.0.1:8889/express failed, reason: connect ECONNREFUSED 127.0.0.1:8889"},
			[]string{"    at ", "minipass-fetch"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			lines := captureLines(t, tc.file)
			d := diagnoseInstall(tc.runtime, lines, 50)
			if d.Kind != tc.kind || !slices.Equal(d.Packages, tc.packages) || d.Available != tc.available {
				t.Errorf("diagnosis: kind %q packages %q available %q; want %q %q %q", d.Kind, d.Packages, d.Available, tc.kind, tc.packages, tc.available)
			}
			for _, k := range tc.keep {
				if !slices.Contains(d.Kept, k) {
					t.Errorf("kept lines lack %q:\n%s", k, strings.Join(d.Kept, "\n"))
				}
			}
			for _, l := range d.Kept {
				if strings.ContainsAny(l, "\x1b\r") {
					t.Errorf("kept line has an escape or carriage return: %q", l)
				}
				for _, bad := range tc.drop {
					if strings.Contains(l, bad) {
						t.Errorf("kept line %q has %q", l, bad)
					}
				}
			}
		})
	}
}

// TestKeepLinesDecisive: among many lines, the decisive ones are kept even
// when they come first and the limit is small, and repeats are dropped.
func TestKeepLinesDecisive(t *testing.T) {
	lines := captureLines(t, "npm-no-version.txt")
	var noise []string
	for i := range 80 {
		noise = append(noise, "npm ERR! some detail line "+string(rune('a'+i%26))+strings.Repeat("x", i))
	}
	lines = append(lines, noise...)
	lines = append(lines, "npm ERR! code ETARGET") // a repeat
	d := diagnoseInstall("node", lines, 10)
	if len(d.Kept) != 10 {
		t.Fatalf("kept %d lines, want 10", len(d.Kept))
	}
	if d.Kept[0] != "npm ERR! code ETARGET" || d.Kept[1] != "npm ERR! notarget No matching version found for express@^5.1.0." {
		t.Errorf("decisive lines not kept first: %q", d.Kept)
	}
	n := 0
	for _, l := range d.Kept {
		if l == "npm ERR! code ETARGET" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the repeated line is kept %d times", n)
	}

	// pip: the lines before an ERROR line are its context.
	pip := []string{"Collecting a", "  Downloading a-1.tar.gz", "step 1", "step 2", "something broke", "ERROR: Failed building wheel for a"}
	for range 60 {
		pip = append(pip, "  noise")
	}
	d = diagnoseInstall("python", pip, 5)
	want := []string{"step 2", "something broke", "ERROR: Failed building wheel for a"}
	for _, w := range want {
		if !slices.Contains(d.Kept, w) {
			t.Errorf("pip kept %q, lacking %q", d.Kept, w)
		}
	}
}

func TestCleanInstallLine(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[31mERROR: No matching distribution found for x\x1b[0m\x1b[31m":                                                                                 "ERROR: No matching distribution found for x",
		"[\x1b[100;90m....\x1b[0m] \\ idealTree\x1b[K\r\r\x1b[K\x1b[?25h\x1b[37;40mnpm\x1b[0m \x1b[0m\x1b[31;40mERR!\x1b[0m \x1b[0m\x1b[35mcode\x1b[0m E404": "npm ERR! code E404",
		"plain\r":              "plain",
		"\x1b]0;title\x07text": "text",
		"a\x00b\x7fc  ":        "abc",
	} {
		if got := cleanInstallLine(in); got != want {
			t.Errorf("cleanInstallLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestInstallFailureMessage: the message names the packages and the cause,
// and never an image, container, command or path.
func TestInstallFailureMessage(t *testing.T) {
	express := []framework.Requirement{{Name: "express", Spec: "^5.1.0"}}
	demo := []framework.Requirement{{Name: "demo-pkg", Spec: "==2.0"}, {Name: "flask-login", Spec: ""}}
	for _, tc := range []struct {
		name string
		f    installFailure
		d    installDiagnosis
		want string
	}{
		{"npm no version", installFailure{Runtime: "node", Source: "http://reg/", Missing: express, Installed: map[string]string{"express": "4.21.2"}},
			installDiagnosis{Kind: installNoVersion, Packages: []string{"express@^5.1.0"}},
			"no version of express satisfies ^5.1.0 on the npm registry at http://reg/ (PREVIEW_NPM_REGISTRY) (the runtime image carries express 4.21.2)"},
		{"pip no version", installFailure{Runtime: "python", Source: "http://idx/simple/", Missing: demo},
			installDiagnosis{Kind: installNoVersion, Packages: []string{"demo-pkg==2.0"}, Available: "1.0"},
			"no version of demo-pkg satisfies ==2.0 on the package index at http://idx/simple/ (PREVIEW_PIP_INDEX_URL) (it has 1.0)"},
		{"pip not found", installFailure{Runtime: "python", Source: "http://idx/simple/", Missing: demo},
			installDiagnosis{Kind: installNotFound, Packages: []string{"flask-login"}},
			"flask-login is not on the package index at http://idx/simple/ (PREVIEW_PIP_INDEX_URL)"},
		{"pip unreachable by the proxy's record", installFailure{Runtime: "python", Source: "http://idx/simple/", Missing: demo, Unreachable: true},
			installDiagnosis{Kind: installNotFound, Packages: []string{"demo-pkg==2.0"}},
			"could not install demo-pkg==2.0, flask-login: the package index at http://idx/simple/ (PREVIEW_PIP_INDEX_URL) is unreachable"},
		{"npm unreachable", installFailure{Runtime: "node", Source: "http://reg/", Missing: express, Installed: map[string]string{"express": "4.21.2"}},
			installDiagnosis{Kind: installUnreachable},
			"could not install express@^5.1.0: the npm registry at http://reg/ (PREVIEW_NPM_REGISTRY) is unreachable (the runtime image carries express 4.21.2)"},
		{"timeout", installFailure{Runtime: "python", Source: "http://idx/simple/", Missing: demo, Timeout: 3 * time.Second},
			installDiagnosis{},
			"installing demo-pkg==2.0, flask-login took longer than 3s (PREVIEW_BUILD_TIMEOUT)"},
		{"oom", installFailure{Runtime: "node", Source: "http://reg/", Missing: express, OOM: true, MemoryMB: 256},
			installDiagnosis{},
			"installing express@^5.1.0 ran out of memory (the preview's memory cap is 256 MB)"},
		{"unknown", installFailure{Runtime: "python", Source: "http://idx/simple/", Missing: demo, ExitStatus: 1},
			installDiagnosis{},
			"installing demo-pkg==2.0, flask-login failed: pip exited with status 1 (its output is in log_tail)"},
	} {
		if got := tc.f.message(tc.d); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
