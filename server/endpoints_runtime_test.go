package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The running app's own route table (source "runtime") is checked against
// the table the framework itself builds, computed apart from the preview:
// testdata/endpoints/dump loads the same files in a container of the same
// runtime image and walks the framework's structures, as the endpoint
// accuracy test does.

// runtimeApp is an app whose runtime table is checked: a sample, or an app
// of the endpoint corpus.
type runtimeApp struct {
	name, framework, dir string
}

// runtimeApps are the four framework samples and every app of the endpoint
// corpus (testdata/endpoints/<framework>/<app>).
func runtimeApps(t *testing.T) []runtimeApp {
	apps := []runtimeApp{}
	for _, fw := range []string{"fastapi", "flask", "django", "express"} {
		apps = append(apps, runtimeApp{"samples/" + fw, fw, filepath.Join("..", "testdata", "samples", fw)})
	}
	for _, fw := range []string{"fastapi", "flask", "django", "express"} {
		entries, err := os.ReadDir(filepath.Join("..", "testdata", "endpoints", fw))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range entries {
			if d.IsDir() {
				apps = append(apps, runtimeApp{fw + "/" + d.Name(), fw, filepath.Join("..", "testdata", "endpoints", fw, d.Name())})
			}
		}
	}
	return apps
}

// frameworkTable is app's route table as the framework builds it, run by
// the dumper in image, as "METHOD path" keys. The HEAD that Werkzeug adds
// beside every GET and the OPTIONS that Flask adds are not the app's own
// declarations; they are left out, as the runtime table leaves them out.
func frameworkTable(t *testing.T, image string, app runtimeApp) map[string]bool {
	t.Helper()
	dir, err := filepath.Abs(app.dir)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := filepath.Abs(filepath.Join("..", "testdata", "endpoints", "dump"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
		"-v", dir + ":/src:ro", "-v", dump + ":/dump:ro"}
	if app.framework == "express" {
		args = append(args, "--entrypoint", "node", image, "/dump/routes.js", "--one", "/src")
	} else {
		args = append(args, "--entrypoint", "python3", image, "/dump/routes.py", "--one", app.framework, "/src")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dump %s: %v: %s", app.name, err, stderr.String())
	}
	var out struct {
		Routes []struct {
			Method      string `json:"method"`
			Path        string `json:"path"`
			AutoOptions bool   `json:"auto_options"`
		} `json:"routes"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("dump %s: %v: %s", app.name, err, stdout.String())
	}
	if out.Error != "" {
		t.Fatalf("dump %s: %s", app.name, out.Error)
	}
	hasGet := map[string]bool{}
	for _, r := range out.Routes {
		hasGet[r.Path] = hasGet[r.Path] || r.Method == "GET"
	}
	set := map[string]bool{}
	for _, r := range out.Routes {
		if app.framework == "flask" && (r.Method == "OPTIONS" && r.AutoOptions || r.Method == "HEAD" && hasGet[r.Path]) {
			continue
		}
		set[r.Method+" "+r.Path] = true
	}
	return set
}

// runtimeRows waits until the endpoints of gen carry the running app's
// table, and returns the rows that came from it; it fails after 30 s.
func (e *env) runtimeRows(t *testing.T, gen string) (map[string]bool, map[string]endpointRow) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, rows := e.endpoints("alice", gen)
		got := map[string]bool{}
		for k, r := range rows {
			if r.Source == "runtime" {
				got[k] = true
			}
		}
		if len(got) > 0 {
			return got, rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("no runtime rows after 30 s: %v", rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// compareTables reports every row one table has and the other lacks.
func compareTables(t *testing.T, got, want map[string]bool) (matched int) {
	t.Helper()
	for _, k := range sortedKeys(want) {
		if got[k] {
			matched++
		} else {
			t.Errorf("missing from the runtime table: %s", k)
		}
	}
	for _, k := range sortedKeys(got) {
		if !want[k] {
			t.Errorf("in the runtime table, not the framework's: %s", k)
		}
	}
	return matched
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRuntimeRouteTable launches every sample and corpus app that runs as a
// preview, cold and then warm, and compares the rows the endpoint list
// takes from the running app with the framework's own table: precision and
// recall must both be 1. A static row the app does not have is marked
// "confirmed": false. An app that does not start as a preview (the corpus
// has some written only to be parsed) is logged and left out; every sample
// must start, and every app that starts cold must start warm.
func TestRuntimeRouteTable(t *testing.T) {
	requireInfra(t, true)
	apps := runtimeApps(t)
	truth := map[string]map[string]bool{}
	for _, app := range apps {
		image := pythonImage
		if app.framework == "express" {
			image = nodeImage
		}
		truth[app.name] = frameworkTable(t, image, app)
	}
	ranCold := map[string]bool{}
	for _, mode := range []string{"cold", "warm"} {
		t.Run(mode, func(t *testing.T) {
			var opts []envOption
			if mode == "warm" {
				opts = append(opts, withWarmPool(1))
			}
			e := newEnv(t, opts...)
			var found, matched, want, launched int
			for _, app := range apps {
				if mode == "warm" {
					e.waitWarm(1)
				}
				r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": app.name, "files": dirFiles(t, app.dir)})
				mustStatus(t, r, http.StatusCreated)
				gen := r.body["id"].(string)
				r = e.launch("alice", gen, nil)
				if r.status != http.StatusCreated {
					if strings.HasPrefix(app.name, "samples/") {
						t.Fatalf("%s: launch %d %s", app.name, r.status, r.raw)
					}
					if ranCold[app.name] {
						t.Errorf("%s runs cold but not %s: %d %.300s", app.name, mode, r.status, r.raw)
						continue
					}
					t.Logf("%s does not run as a preview: %d %.200s", app.name, r.status, r.raw)
					continue
				}
				if warm := r.body["warm"] == true; warm != (mode == "warm") {
					t.Errorf("%s: warm=%v in a %s launch", app.name, warm, mode)
				}
				launched++
				ranCold[app.name] = ranCold[app.name] || mode == "cold"
				t.Run(app.name, func(t *testing.T) {
					got, rows := e.runtimeRows(t, gen)
					found += len(got)
					want += len(truth[app.name])
					matched += compareTables(t, got, truth[app.name])
					for k, row := range rows {
						if row.Source != "runtime" && row.Confirmed == nil {
							t.Errorf("%s is not in the runtime table but not marked confirmed: false", k)
						}
					}
				})
				mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
			}
			t.Logf("%s: %d apps ran; runtime rows %d, framework rows %d, matched %d", mode, launched, found, want, matched)
		})
	}
}

// TestRuntimeRouteTableAfterReload: a patch that adds a route to a running
// preview reloads it in place, and the new version's table has the route.
func TestRuntimeRouteTableAfterReload(t *testing.T) {
	requireInfra(t, true)
	added := map[string]struct{ file, old, new, row string }{
		"fastapi": {"app/main.py", "@app.get(\"/\")", "@app.post(\"/added/{n}\")\ndef added(n: int):\n    return {\"n\": n}\n\n\n@app.get(\"/\")", "POST /added/{n}"},
		"flask":   {"app/__init__.py", "    return app\n", "    @app.route(\"/added/<int:n>\", methods=[\"PUT\"])\n    def added(n):\n        return str(n)\n\n    return app\n", "PUT /added/{n}"},
		"django":  {"mysite/urls.py", "    path(\"\", index),\n", "    path(\"\", index),\n    path(\"added/<int:n>\", index),\n", "ALL /added/{n}"},
		"express": {"server.js", "app.use('/api/items', items);", "app.use('/api/items', items);\napp.delete('/added/:n', (req, res) => res.send(req.params.n));", "DELETE /added/{n}"},
	}
	e := newEnv(t)
	for _, fw := range []string{"fastapi", "flask", "django", "express"} {
		t.Run(fw, func(t *testing.T) {
			a := added[fw]
			gen := e.upload("alice", fw)
			mustStatus(t, e.launch("alice", gen, nil), http.StatusCreated)
			defer e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)
			before, _ := e.runtimeRows(t, gen)
			if before[a.row] {
				t.Fatalf("%s is there before the patch", a.row)
			}
			// Reading the table is not the user's traffic: the idle timer
			// stays where it was.
			idle := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil).body["idle_expires_at"]
			e.runtimeRows(t, gen)
			if now := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil).body["idle_expires_at"]; now != idle || idle == nil {
				t.Errorf("idle_expires_at %v after reading the route table, was %v", now, idle)
			}
			src := sampleFile(t, fw, a.file)
			if !strings.Contains(src, a.old) {
				t.Fatalf("%s has no %q", a.file, a.old)
			}
			r := e.patch("alice", gen, map[string]any{"files": []map[string]string{{"path": a.file, "content": strings.Replace(src, a.old, a.new, 1)}}})
			mustStatus(t, r, http.StatusOK)
			if r.body["reload"] != "in_place" {
				t.Fatalf("patch: %s", r.raw)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				after, _ := e.runtimeRows(t, gen)
				if after[a.row] {
					for k := range before {
						if !after[k] {
							t.Errorf("%s is gone after the reload", k)
						}
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no %s after the reload: %v", a.row, after)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
