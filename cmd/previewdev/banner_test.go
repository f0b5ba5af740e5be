package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBaseURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://localhost:8080",
		"0.0.0.0:9000":   "http://localhost:9000",
		"127.0.0.1:8081": "http://127.0.0.1:8081",
		"[::]:8080":      "http://localhost:8080",
		"nonsense":       "http://localhost:8080",
	} {
		if got := baseURL(addr); got != want {
			t.Errorf("baseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestExampleCommandsRunInBash runs the printed commands in bash with curl and
// jq replaced by stubs that record what they were given, to prove the quoting:
// the body must arrive as the JSON of the hello app, and the launch URL must
// carry the id from the upload's answer.
func TestExampleCommandsRunInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	upload, launch := exampleCommands("http://localhost:8080")
	dir := t.TempDir()
	script := `
curl() {
	f="$OUT/curl1.args"
	if [ -e "$f" ]; then f="$OUT/curl2.args"; fi
	printf '%s\n' "$@" > "$f"
	while [ $# -gt 0 ]; do
		if [ "$1" = -d ]; then printf '%s' "$2" > "$OUT/body.json"; fi
		shift
	done
	echo '{"id": "gen-1"}'
}
jq() { cat >/dev/null; echo gen-1; }
PREVIEW_TOKEN=tok
` + upload + "\n" + launch + "\n"
	if out, err := exec.Command(bash, "-n", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		if out, err := exec.Command(sh, "-n", "-c", upload+"\n"+launch).CombinedOutput(); err != nil {
			t.Errorf("sh -n: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "OUT="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}

	body, err := os.ReadFile(filepath.Join(dir, "body.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Name  string `json:"name"`
		Files []struct {
			Path    string `json:"path"`
			Content string `json:"content"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("upload body is not JSON: %v\n%s", err, body)
	}
	if req.Name != "hello" || len(req.Files) != 1 || req.Files[0].Path != "main.py" || req.Files[0].Content != helloApp {
		t.Errorf("upload body decodes to %+v, want the hello app", req)
	}

	uploadArgs, err := os.ReadFile(filepath.Join(dir, "curl1.args"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(uploadArgs), "Authorization: Bearer tok\n") {
		t.Errorf("upload curl args lack the bearer token:\n%s", uploadArgs)
	}
	launchArgs, err := os.ReadFile(filepath.Join(dir, "curl2.args"))
	if err != nil {
		t.Fatal(err)
	}
	want := "http://localhost:8080/api/v1/generations/gen-1/preview/launch\n"
	if !strings.HasSuffix(string(launchArgs), want) || !strings.Contains(string(launchArgs), "Authorization: Bearer tok\n") {
		t.Errorf("launch curl args:\n%s\nwant the token and a URL ending %s", launchArgs, want)
	}
}
