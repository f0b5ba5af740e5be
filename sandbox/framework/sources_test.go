package framework

import (
	"errors"
	"strings"
	"testing"
)

func TestPipLineSource(t *testing.T) {
	for line, want := range map[string]string{
		"flask":                               "",
		"flask==3.0.0":                        "",
		"uvicorn[standard]>=0.20":             "",
		"requests ; python_version >= '3.8'":  "",
		"pkg==1.0 --hash=sha256:abcd":         "",
		"--pre":                               "",
		"-c constraints.txt":                  "",
		"--no-binary :all:":                   "",
		"evil @ http://198.51.100.7/evil.tgz": "direct reference",
		"evil@https://x.example/e.whl":        "direct reference",
		"git+https://github.com/a/b.git":      "VCS",
		"hg+https://hg.example/b":             "VCS",
		"-e git+https://github.com/a/b.git":   "-e",
		"-e .":                                "-e",
		"--editable=./lib":                    "--editable",
		"-i http://evil.example/simple":       "-i",
		"--index-url=http://evil.example":     "--index-url",
		"--extra-index-url http://evil":       "--extra-index-url",
		"-f http://evil.example/links":        "-f",
		"--find-links ./wheels":               "--find-links",
		"--trusted-host evil.example":         "--trusted-host",
		"https://evil.example/pkg-1.0.tar.gz": "a URL",
		"./vendor/pkg":                        "local path",
		"/abs/pkg":                            "local path",
		"pkg-1.0-py3-none-any.whl":            "local path",
	} {
		got := PipLineSource(line)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("PipLineSource(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestNpmSpecSource(t *testing.T) {
	for spec, want := range map[string]string{
		"^4.18.0":                         "",
		"~1.2.3":                          "",
		">=1.0.0 <2 || 3.x":               "",
		"1.0.0 - 2.0.0":                   "",
		"*":                               "",
		"":                                "",
		"latest":                          "",
		"npm:other-pkg@^1.0.0":            "",
		"npm:@scope/pkg":                  "",
		"npm:x@http://evil.example/x.tgz": "URL",
		"http://198.51.100.7/x.tgz":       "URL",
		"https://evil.example/x.tgz":      "URL",
		"git+ssh://git@github.com/a/b":    "git",
		"git://github.com/a/b.git":        "git",
		"git+https://github.com/a/b":      "git",
		"github:user/repo":                "git",
		"gitlab:user/repo":                "git",
		"user/repo":                       "shorthand",
		"user/repo#semver:^1.0":           "shorthand",
		"file:../lib":                     "local path",
		"link:../lib":                     "local path",
		"workspace:*":                     "local path",
		"./lib":                           "local path",
		"..":                              "local path",
		"~/lib":                           "local path",
		"/abs/lib":                        "local path",
		"pkg.tgz":                         "local path",
		"pkg.tar.gz":                      "local path",
		"x:y":                             "not a version",
	} {
		got := NpmSpecSource(spec)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("NpmSpecSource(%q) = %q, want %q", spec, got, want)
		}
	}
}

func TestForeignSources(t *testing.T) {
	py := Plan{Runtime: RuntimePython}
	node := Plan{Runtime: RuntimeNode, Entrypoint: "server.js"}
	for _, c := range []struct {
		plan  Plan
		files map[string]string
		want  string // in the error; "" for none
	}{
		{py, map[string]string{"requirements.txt": "flask\nrequests==2.31\n"}, ""},
		{py, map[string]string{"requirements.txt": "flask\n# x @ http://a\nevil @ http://198.51.100.7/e.tgz\n"}, `requirements.txt line 3: "evil @ http://198.51.100.7/e.tgz"`},
		{py, map[string]string{"requirements.txt": "flask\n-r more.txt\n", "more.txt": "\n-e .\n"}, `more.txt line 2`},
		{py, map[string]string{"requirements.txt": "flask \\\n  @ http://a/f.tgz\n"}, `line 1`},
		{node, map[string]string{"package.json": `{"dependencies": {"express": "^4", "x": "http://198.51.100.7/x.tgz"}}`}, `dependency "x"`},
		{node, map[string]string{"package.json": `{"dependencies": {"express": "^4"}, "devDependencies": {"y": "user/repo"}}`}, ""},
		{node, map[string]string{"package.json": `{"dependencies": {"z": "file:../z"}}`}, `"file:../z" is a local path`},
	} {
		files := map[string][]byte{}
		for k, v := range c.files {
			files[k] = []byte(v)
		}
		err := ForeignSources(c.plan, files)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.files, err)
			}
			continue
		}
		if !errors.Is(err, ErrForeignSource) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an ErrForeignSource naming %s", c.files, err, c.want)
		}
	}
}
