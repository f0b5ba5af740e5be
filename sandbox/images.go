package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/errdefs"

	"github.com/previewd/previewd/db"
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
	docker *Docker

	mu        sync.Mutex
	installed map[string]map[string]string // runtime image id → its packages
	building  map[string]*sync.Mutex       // dependency image tag → build lock
}

func newImageCache(d *Docker) *imageCache {
	return &imageCache{docker: d, installed: map[string]map[string]string{}, building: map[string]*sync.Mutex{}}
}

// imageFor returns the image to run plan's app from.
// buildLine receives each line of a dependency install's output.
func (c *imageCache) imageFor(ctx context.Context, images map[string]string, plan framework.Plan, files []db.File, buildLine func(string)) (string, error) {
	need, err := c.resolve(ctx, images, plan, files)
	if err != nil || len(need.missing) == 0 {
		return need.runtimeRef, err
	}
	return c.depsImage(ctx, plan.Runtime, need.runtimeRef, need.runtimeID, need.missing, buildLine)
}

// existingImage returns the image to run plan's app from if it needs no
// build: the runtime image, or a dependency image built before.
func (c *imageCache) existingImage(ctx context.Context, images map[string]string, plan framework.Plan, files []db.File) (string, bool) {
	need, err := c.resolve(ctx, images, plan, files)
	if err != nil {
		return "", false
	}
	if len(need.missing) == 0 {
		return need.runtimeRef, true
	}
	tag, _ := depsTag(plan.Runtime, need.runtimeID, need.missing)
	if _, err := c.docker.ImageID(ctx, tag); err != nil {
		return "", false
	}
	return tag, true
}

// imageNeed is what an app needs: its runtime image and what that lacks.
type imageNeed struct {
	runtimeRef, runtimeID string
	missing               []framework.Requirement
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
	if len(reqs) == 0 {
		return need, nil
	}
	need.runtimeID, err = c.docker.ImageID(ctx, runtime)
	if err != nil {
		return imageNeed{}, err
	}
	installed, err := c.installedIn(ctx, need.runtimeID)
	if err != nil {
		return imageNeed{}, err
	}
	need.missing = framework.Missing(reqs, installed)
	return need, nil
}

// depsTag names the dependency image of runtime (by image id) plus missing,
// and returns the hash of those inputs too.
func depsTag(runtime, runtimeID string, missing []framework.Requirement) (tag, hash string) {
	sum := sha256.Sum256([]byte(runtimeID + "\n" + runtime + "\n" + depsSpec(missing)))
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
		if id, err := c.docker.ImageID(ctx, ref); err == nil {
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
	text, err := c.docker.ReadImageFile(ctx, imageID, packagesFile)
	if err != nil {
		return nil, err
	}
	pkgs = framework.ParseInstalled(text)
	c.mu.Lock()
	c.installed[imageID] = pkgs
	c.mu.Unlock()
	return pkgs, nil
}

// depsImage returns the dependency image for the missing requirements, building
// it if it does not exist yet.
func (c *imageCache) depsImage(ctx context.Context, runtime, runtimeRef, runtimeID string, missing []framework.Requirement, buildLine func(string)) (string, error) {
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

	if _, err := c.docker.ImageID(ctx, tag); err == nil {
		return tag, nil
	} else if !errdefs.IsNotFound(err) {
		return "", err
	}
	buildCtx, err := depsContext(runtime, runtimeRef, missing)
	if err != nil {
		return "", err
	}
	var output []string
	err = c.docker.Build(ctx, buildCtx, tag, map[string]string{labelDepsOf: hash}, func(l string) {
		output = append(output, l)
		buildLine(l)
	})
	if err != nil {
		if len(output) > logTailLines {
			output = output[len(output)-logTailLines:]
		}
		return "", &LaunchError{Reason: "installing the app's dependencies failed: " + err.Error(), LogTail: output}
	}
	return tag, nil
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

// depsContext is the build context of a dependency image: the runtime image
// plus the missing packages installed where the runtime finds them. Only the
// missing ones are installed; the rest come from the runtime image.
func depsContext(runtime, runtimeRef string, missing []framework.Requirement) (*bytes.Buffer, error) {
	var dockerfile, listName string
	switch runtime {
	case "python":
		listName = "requirements.txt"
		dockerfile = `FROM ` + runtimeRef + `
USER root
COPY requirements.txt /opt/previewd/deps/requirements.txt
RUN python3 -m pip install --no-cache-dir --disable-pip-version-check --retries 1 --timeout 15 \
    --target /opt/previewd/deps/python -r /opt/previewd/deps/requirements.txt
ENV PYTHONPATH=/opt/previewd/deps/python
USER 10001:10001
`
	case "node":
		listName = "package.json"
		dockerfile = `FROM ` + runtimeRef + `
USER root
COPY package.json /opt/previewd/deps/node/package.json
RUN cd /opt/previewd/deps/node && npm install --omit=dev --no-audit --no-fund --fetch-retries=0 --fetch-timeout=15000
ENV NODE_PATH=/opt/previewd/deps/node/node_modules
USER 10001:10001
`
	default:
		return nil, fmt.Errorf("no dependency installer for runtime %q", runtime)
	}
	var list []byte
	if runtime == "python" {
		list = []byte(depsSpec(missing))
	} else {
		deps := make([]string, len(missing))
		for i, r := range missing {
			spec := r.Spec
			if spec == "" {
				spec = "*"
			}
			deps[i] = fmt.Sprintf("%q: %q", r.Name, spec)
		}
		sort.Strings(deps)
		list = []byte(`{"name": "previewd-deps", "private": true, "dependencies": {` + strings.Join(deps, ", ") + "}}\n")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		body []byte
	}{{"Dockerfile", []byte(dockerfile)}, {listName, list}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}
