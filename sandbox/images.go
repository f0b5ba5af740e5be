package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/framework"
)

// packagesFile lists, in every runtime image, what that image already has
// installed ("name==version" per line).
const packagesFile = "/opt/previewd/packages.txt"

// labelDepsOf marks a dependency image with the hash of its inputs.
const labelDepsOf = "io.previewd.deps-hash"

// imageCache picks the image a preview runs from: the runtime image, or a
// dependency image derived from it when the app needs packages the runtime
// lacks. Dependency images are named by the hash of the runtime image and the
// dependency file, so each is built once and reused by later launches.
type imageCache struct {
	backend     backend.Backend
	runner      string // labels the install's sandbox
	deps        DepsConfig
	runRoot     string // build directories go in runRoot/builds
	noFile      int64
	logMaxBytes int64

	variants map[string][]string // runtime → its images besides the default (see runtimes.go)

	mu        sync.Mutex
	installed map[string]map[string]string // runtime image id → its packages
	added     map[string]map[string]string // dependency image tag → the packages installed into it
	building  map[string]*sync.Mutex       // dependency image tag → build lock
	described map[string]string            // image an app runs from → the build line saying what it is
}

func newImageCache(b backend.Backend, cfg Config) *imageCache {
	return &imageCache{
		backend: b, runner: cfg.RunnerID, deps: cfg.Deps, runRoot: cfg.RunRoot, noFile: cfg.NoFile, logMaxBytes: cfg.LogMaxBytes,
		variants:  cfg.Runtimes,
		installed: map[string]map[string]string{}, added: map[string]map[string]string{},
		building: map[string]*sync.Mutex{}, described: map[string]string{},
	}
}

// imageFor returns the image to run plan's app from, and the runtime that
// is. buildLine receives each line of a dependency install's output.
// An install runs with caps, the launching preview's.
func (c *imageCache) imageFor(ctx context.Context, images map[string]string, plan framework.Plan, files []db.File, caps Caps, buildLine func(string)) (string, db.Runtime, error) {
	need, err := c.resolve(ctx, images, plan, files)
	if err != nil {
		return "", db.Runtime{}, err
	}
	if need.line != "" {
		buildLine(need.line)
	}
	if len(need.missing) == 0 {
		return need.runtimeRef, need.runtime, nil
	}
	tag, added, err := c.depsImage(ctx, plan.Runtime, need.runtimeRef, need.runtimeID, need.missing, caps, buildLine)
	if err != nil {
		var le *LaunchError
		if errors.As(err, &le) && len(need.choice.replaced) > 0 {
			// No runtime carries the version asked, and it could not be installed.
			le.Reason += offeredText(need.choice.offers, need.choice.replaced)
			le.conflict = true
		}
		return "", db.Runtime{}, err
	}
	c.describe(tag, need.line)
	return tag, withPackages(need.runtime, added), nil
}

// describe remembers the build line of an image an app runs from.
func (c *imageCache) describe(image, line string) {
	if line == "" {
		return
	}
	c.mu.Lock()
	c.described[image] = line
	c.mu.Unlock()
}

// description is the build line saying what image is, if an app was
// resolved to it before.
func (c *imageCache) description(image string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.described[image]
}

// withPackages is rt with the packages of added, installed for the app,
// besides its own.
func withPackages(rt db.Runtime, added map[string]string) db.Runtime {
	pkgs := make(map[string]string, len(rt.Packages)+len(added))
	for k, v := range rt.Packages {
		pkgs[k] = v
	}
	for k, v := range added {
		pkgs[k] = v
	}
	rt.Packages = pkgs
	return rt
}

// existingImage returns the image to run plan's app from, and the runtime
// that is, if it needs no build: the runtime image, or a dependency image
// built before.
func (c *imageCache) existingImage(ctx context.Context, images map[string]string, plan framework.Plan, files []db.File) (string, db.Runtime, bool) {
	need, err := c.resolve(ctx, images, plan, files)
	if err != nil {
		return "", db.Runtime{}, false
	}
	if len(need.missing) == 0 {
		c.describe(need.runtimeRef, need.line)
		return need.runtimeRef, need.runtime, true
	}
	tag, _ := depsTag(plan.Runtime, need.runtimeID, need.missing)
	if _, err := c.backend.ImageID(ctx, tag); err != nil {
		return "", db.Runtime{}, false
	}
	c.describe(tag, need.line)
	return tag, withPackages(need.runtime, c.addedIn(ctx, tag)), true
}

// imageNeed is what an app needs: its runtime image and what that lacks.
type imageNeed struct {
	runtimeRef, runtimeID string
	missing               []framework.Requirement
	choice                runtimeChoice
	line                  string     // the build line saying which image, and what it adds
	runtime               db.Runtime // the image and the framework's version in it, before installs
}

func (c *imageCache) resolve(ctx context.Context, images map[string]string, plan framework.Plan, files []db.File) (imageNeed, error) {
	runtime, ok := images[plan.Runtime]
	if !ok {
		return imageNeed{}, fmt.Errorf("no runtime image configured for %q", plan.Runtime)
	}
	need := imageNeed{runtimeRef: runtime}
	byPath := make(map[string][]byte, len(files))
	for _, f := range files {
		byPath[f.Path] = f.Content
	}
	reqs, err := framework.Requirements(plan, byPath)
	if err != nil {
		return imageNeed{}, &LaunchError{Reason: "cannot read the app's dependencies: " + err.Error()}
	}
	if !c.deps.AllowURLDeps {
		// Checked here too, and not only before the launch's record
		// exists, so that no path reaches an install (or an image built
		// before the operator turned such dependencies off) without it.
		if err := framework.ForeignSources(plan, byPath); err != nil {
			return imageNeed{}, err
		}
	}
	engine := framework.EngineSpec(plan, byPath)
	if len(reqs) == 0 && engine == "" {
		ch := c.defaultChoice(ctx, runtime)
		need.line, need.runtime = ch.describe(plan.Runtime), ch.runtime(string(plan.Framework))
		return need, nil
	}
	ch, err := c.chooseRuntime(ctx, plan.Runtime, runtime, reqs, engine)
	if err != nil {
		return imageNeed{}, err
	}
	need.runtimeRef, need.runtimeID, need.missing, need.choice = ch.ref, ch.id, ch.install, ch
	need.line, need.runtime = ch.describe(plan.Runtime), ch.runtime(string(plan.Framework))
	return need, nil
}

// depsLayout is in every dependency image's inputs: images built before
// the installed tree listed its packages (addedFile) are not reused.
const depsLayout = "layout 2: " + addedFile

// depsTag names the dependency image of runtime (by image id) plus missing,
// and returns the hash of those inputs too.
func depsTag(runtime, runtimeID string, missing []framework.Requirement) (tag, hash string) {
	sum := sha256.Sum256([]byte(depsLayout + "\n" + runtimeID + "\n" + runtime + "\n" + depsSpec(missing)))
	hash = hex.EncodeToString(sum[:])
	return "previewd/deps-" + runtime + ":" + hash[:16], hash
}

// learn reads what each runtime image has installed ahead of the launches
// that need it: reading it takes a container, 250-300 ms on a slow engine,
// which would otherwise fall to the first launch of an app with a
// dependency file. An image that cannot be read is left to those launches,
// which fail with the reason.
func (c *imageCache) learn(ctx context.Context, images map[string]string) {
	for _, ref := range images {
		if id, err := c.backend.ImageID(ctx, ref); err == nil {
			c.installedIn(ctx, id)
		}
	}
}

func (c *imageCache) installedIn(ctx context.Context, imageID string) (map[string]string, error) {
	c.mu.Lock()
	pkgs, ok := c.installed[imageID]
	c.mu.Unlock()
	if ok {
		return pkgs, nil
	}
	text, err := c.backend.ReadImageFile(ctx, imageID, packagesFile)
	if err != nil {
		return nil, err
	}
	pkgs = framework.ParseInstalled(text)
	c.mu.Lock()
	c.installed[imageID] = pkgs
	c.mu.Unlock()
	return pkgs, nil
}

// addedIn returns the packages installed into dependency image tag, read
// from the image once (see addedFile); none when it cannot be read.
func (c *imageCache) addedIn(ctx context.Context, tag string) map[string]string {
	c.mu.Lock()
	pkgs, ok := c.added[tag]
	c.mu.Unlock()
	if ok {
		return pkgs
	}
	runtime := strings.TrimPrefix(strings.SplitN(tag, ":", 2)[0], "previewd/deps-")
	text, err := c.backend.ReadImageFile(ctx, tag, backend.InstallTarget(runtime)+"/"+addedFile)
	if err != nil {
		return nil
	}
	pkgs = framework.ParseInstalled(text)
	c.mu.Lock()
	c.added[tag] = pkgs
	c.mu.Unlock()
	return pkgs
}

// depsImage returns the dependency image for the missing requirements, building
// it if it does not exist yet, and the packages installed into it. The
// install runs in a sandbox of its own (see docker/depsspec.go) with the
// launching preview's caps.
func (c *imageCache) depsImage(ctx context.Context, runtime, runtimeRef, runtimeID string, missing []framework.Requirement, caps Caps, buildLine func(string)) (string, map[string]string, error) {
	tag, hash := depsTag(runtime, runtimeID, missing)

	c.mu.Lock()
	lock, ok := c.building[tag]
	if !ok {
		lock = &sync.Mutex{}
		c.building[tag] = lock
	}
	c.mu.Unlock()
	// Concurrent launches needing the same dependencies build them once.
	lock.Lock()
	defer lock.Unlock()

	if _, err := c.backend.ImageID(ctx, tag); err == nil {
		return tag, c.addedIn(ctx, tag), nil
	} else if !errors.Is(err, backend.ErrNotFound) {
		return "", nil, err
	}
	// Enough of the output to find the decisive lines in; they come last.
	var output []string
	line := func(l string) {
		output = append(output, l)
		if len(output) > 2*maxDiagnosedLines {
			output = append(output[:0], output[len(output)-maxDiagnosedLines:]...)
		}
		buildLine(l)
	}
	res, err := c.build(ctx, runtime, runtimeRef, missing, caps, tag, hash, line)
	if err != nil {
		if !errors.Is(err, backend.ErrInstallFailed) {
			return "", nil, err
		}
		installed, _ := c.installedIn(ctx, runtimeID) // read before, so cached
		f := installFailure{
			Runtime: runtime, Source: c.deps.source(runtime), Missing: missing, Installed: installed,
			Unreachable: res.unreachable, Timeout: res.timeout, MemoryMB: caps.MemoryMB,
		}
		var exit *backend.InstallExitError
		if errors.As(err, &exit) {
			f.ExitStatus, f.OOM = exit.Status, exit.OOM
		}
		d := diagnoseInstall(runtime, output, logTailLines)
		reason := f.message(d)
		if exit == nil && res.timeout == 0 {
			// Packing the installed tree failed: its own words.
			reason = strings.TrimPrefix(err.Error(), backend.ErrInstallFailed.Error()+": ")
		}
		return "", nil, &LaunchError{Reason: "installing the app's dependencies failed: " + reason, LogTail: d.Kept}
	}
	c.mu.Lock()
	c.added[tag] = res.added
	c.mu.Unlock()
	return tag, res.added, nil
}

// maxDiagnosedLines is how many of an install's last output lines (at
// least) are read for the cause of its failure.
const maxDiagnosedLines = 2000

// buildResult is what a build's caller learns besides its error.
type buildResult struct {
	unreachable bool              // the package source could not be reached
	timeout     time.Duration     // not 0: the install ran past this timeout
	added       map[string]string // what was installed: name → version
}

// build installs missing in a sandboxed container, then builds the image tag
// from runtimeRef plus the installed tree, a build that runs nothing.
func (c *imageCache) build(ctx context.Context, runtime, runtimeRef string, missing []framework.Requirement, caps Caps, tag, hash string, line func(string)) (buildResult, error) {
	var res buildResult
	err := c.buildInto(ctx, runtime, runtimeRef, missing, caps, tag, hash, line, &res)
	return res, err
}

func (c *imageCache) buildInto(ctx context.Context, runtime, runtimeRef string, missing []framework.Requirement, caps Caps, tag, hash string, line func(string), res *buildResult) error {
	dockerfile, manifest, err := depsFiles(runtime, runtimeRef, missing)
	if err != nil {
		return err
	}
	allowed, err := proxyAllowList(c.deps.sources(runtime))
	if err != nil {
		return err
	}
	dir, err := newBuildDir(c.runRoot)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir.root)
	manifestDir := dir.ctl
	if runtime == "node" {
		manifestDir = dir.out // npm installs next to its package.json
	}
	if err := os.WriteFile(filepath.Join(manifestDir, manifest.name), manifest.body, 0o644); err != nil {
		return fmt.Errorf("write the dependency list: %w", err)
	}
	proxy, err := startAllowProxy(filepath.Join(dir.ctl, "proxy.sock"), allowed)
	if err != nil {
		return err
	}
	defer proxy.close()

	installCtx, cancel := context.WithTimeout(ctx, c.deps.timeout())
	defer cancel()
	err = c.backend.RunInstall(installCtx, backend.InstallSpec{
		Runtime: runtime, Image: runtimeRef, RunnerID: c.runner,
		ControlDir: dir.ctl, TargetDir: dir.out, TmpDir: dir.tmp,
		Caps: caps, NoFile: c.noFile, LogMaxBytes: c.logMaxBytes,
		IndexURL: c.deps.index(), Registry: c.deps.registry(), AllowScripts: c.deps.AllowInstallScripts,
	}, func(l string) {
		if l = cleanInstallLine(l); l != "" {
			line(l)
		}
	})
	res.unreachable = proxy.sourceUnreachable()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		res.timeout = c.deps.timeout()
		return fmt.Errorf("%w: it took longer than %s", backend.ErrInstallFailed, c.deps.timeout())
	}
	if err != nil {
		return err
	}
	proxy.close()
	if res.added, err = listInstalled(runtime, dir.out); err != nil {
		return fmt.Errorf("%w: %w", backend.ErrInstallFailed, err)
	}

	buildContext, err := os.Create(filepath.Join(dir.root, "context.tar"))
	if err != nil {
		return fmt.Errorf("pack the installed packages: %w", err)
	}
	defer buildContext.Close()
	if err := writeDepsContext(buildContext, dockerfile, dir.out); err != nil {
		return fmt.Errorf("%w: %w", backend.ErrInstallFailed, err)
	}
	if _, err := buildContext.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("pack the installed packages: %w", err)
	}
	// The image build's own output names the internal image and its
	// Dockerfile steps, nothing a user acts on: it is not passed on.
	line("packing the installed packages into the preview's image")
	return c.backend.BuildImage(ctx, buildContext, tag, map[string]string{labelDepsOf: hash}, func(string) {})
}

// depsSpec is the canonical text of a set of requirements.
func depsSpec(reqs []framework.Requirement) string {
	lines := make([]string, len(reqs))
	for i, r := range reqs {
		lines[i] = r.Name + r.Spec
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// depsManifest is the file the installer reads.
type depsManifest struct {
	name string
	body []byte
}

// depsFiles returns the Dockerfile of a dependency image (the runtime image
// plus the installed tree, copied where the runtime finds it: no step runs
// code) and the installer's manifest of the missing packages. Only the
// missing ones are installed; the rest come from the runtime image.
func depsFiles(runtime, runtimeRef string, missing []framework.Requirement) (string, depsManifest, error) {
	target := backend.InstallTarget(runtime)
	switch runtime {
	case "python":
		return "FROM " + runtimeRef + "\nCOPY deps " + target + "\nENV PYTHONPATH=" + target + "\nUSER 10001:10001\n",
			depsManifest{name: "requirements.txt", body: []byte(depsSpec(missing))}, nil
	case "node":
		deps := make([]string, len(missing))
		for i, r := range missing {
			spec := r.Spec
			if spec == "" {
				spec = "*"
			}
			deps[i] = fmt.Sprintf("%q: %q", r.Name, spec)
		}
		sort.Strings(deps)
		body := []byte(`{"name": "previewd-deps", "private": true, "dependencies": {` + strings.Join(deps, ", ") + "}}\n")
		return "FROM " + runtimeRef + "\nCOPY deps " + target + "\nENV NODE_PATH=" + target + "/node_modules\nUSER 10001:10001\n",
			depsManifest{name: "package.json", body: body}, nil
	}
	return "", depsManifest{}, fmt.Errorf("no dependency installer for runtime %q", runtime)
}
