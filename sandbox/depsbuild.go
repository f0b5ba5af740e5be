package sandbox

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/framework"
)

// DepsConfig is how dependency installs run.
type DepsConfig struct {
	// PipIndexURL is pip's index (PEP 503 "simple" URL).
	PipIndexURL string
	// NpmRegistry is npm's registry.
	NpmRegistry string
	// ExtraSources are more http(s) URLs whose host:port the install's
	// proxy lets through, such as the host PyPI serves its files from.
	ExtraSources []string
	// AllowURLDeps lets dependencies name a URL, a VCS repository or a
	// path instead of a package of the index (they still reach only the
	// allowed sources).
	AllowURLDeps bool
	// AllowInstallScripts lets npm run packages' install scripts.
	AllowInstallScripts bool
	// Timeout bounds one install; 0 means 5 minutes.
	Timeout time.Duration
}

// Default package sources.
const (
	DefaultPipIndexURL = "https://pypi.org/simple/"
	DefaultNpmRegistry = "https://registry.npmjs.org/"
	// pypiFiles is where pypi.org's index points for the files themselves.
	pypiFiles = "https://files.pythonhosted.org/"
)

// defaultInstallTimeout is DepsConfig.Timeout's default.
const defaultInstallTimeout = 5 * time.Minute

// maxDepsBytes bounds what an install may hand to the dependency image.
const maxDepsBytes = 2 << 30

// maxSocketPath is the longest unix socket path Linux accepts.
const maxSocketPath = 107

// buildsDir is the directory, in the run root, of the installs' own
// directories.
const buildsDir = "builds"

func (c DepsConfig) timeout() time.Duration {
	if c.Timeout <= 0 {
		return defaultInstallTimeout
	}
	return c.Timeout
}

// sources are the package sources installs of runtime may reach.
func (c DepsConfig) sources(runtime string) []string {
	out := append([]string{}, c.ExtraSources...)
	if runtime == "node" {
		return append(out, c.registry())
	}
	out = append(out, c.index())
	if c.index() == DefaultPipIndexURL {
		out = append(out, pypiFiles)
	}
	return out
}

// source is the configured index (python) or registry (node) of runtime.
func (c DepsConfig) source(runtime string) string {
	if runtime == "node" {
		return c.registry()
	}
	return c.index()
}

func (c DepsConfig) index() string {
	if c.PipIndexURL == "" {
		return DefaultPipIndexURL
	}
	return c.PipIndexURL
}

func (c DepsConfig) registry() string {
	if c.NpmRegistry == "" {
		return DefaultNpmRegistry
	}
	return c.NpmRegistry
}

// buildDir is one install's host directory: ctl (the manifest and the
// proxy's socket, read-only in the container), out (the install target) and
// tmp.
type buildDir struct{ root, ctl, out, tmp string }

// newBuildDir makes a build directory under runRoot/builds. out and tmp
// belong to the build's uid; when previewd cannot chown, they are opened up
// instead, as run directories are.
func newBuildDir(runRoot string) (buildDir, error) {
	raw := make([]byte, 6)
	rand.Read(raw)
	root := filepath.Join(runRoot, buildsDir, hex.EncodeToString(raw))
	b := buildDir{root: root, ctl: filepath.Join(root, "ctl"), out: filepath.Join(root, "out"), tmp: filepath.Join(root, "tmp")}
	if n := len(filepath.Join(b.ctl, "proxy.sock")); n > maxSocketPath {
		return buildDir{}, fmt.Errorf("build directory %s is too long for a unix socket path (%d bytes)", root, n)
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o711); err != nil {
		return buildDir{}, fmt.Errorf("create build directory: %w", err)
	}
	if err := os.Mkdir(root, 0o711); err != nil {
		return buildDir{}, fmt.Errorf("create build directory: %w", err)
	}
	for _, d := range []string{b.ctl, b.out, b.tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(root)
			return buildDir{}, fmt.Errorf("create build directory: %w", err)
		}
	}
	for _, d := range []string{b.out, b.tmp} {
		if err := os.Chown(d, backend.BuildUID, backend.BuildUID); err != nil {
			if err := os.Chmod(d, 0o777); err != nil {
				os.RemoveAll(root)
				return buildDir{}, fmt.Errorf("open build directory: %w", err)
			}
		}
	}
	return b, nil
}

// removeStaleBuilds removes the build directories that a previewd killed
// mid-install left: those older than any install may run.
func removeStaleBuilds(runRoot string, olderThan time.Duration) error {
	dir := filepath.Join(runRoot, buildsDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("list build directories: %w", err)
	}
	var errs []error
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < olderThan {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("remove build directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

// writeDepsContext writes to w the build context of a dependency image:
// dockerfile and, under deps/, the tree the install left in dir, owned by
// root, world-readable and never setuid. Only directories, regular files
// and symbolic links are taken (a link is copied as a link, never
// followed); the install's container has stopped, so nothing changes the
// tree meanwhile.
func writeDepsContext(w io.Writer, dockerfile, dir string) error {
	tw := tar.NewWriter(w)
	mtime := time.Unix(0, 0)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: mtime}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return err
	}
	var total int64
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join("deps", rel))
		info, err := e.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, ModTime: mtime, Uid: 0, Gid: 0}
		switch {
		case info.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
			return tw.WriteHeader(hdr)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
			return tw.WriteHeader(hdr)
		case info.Mode().IsRegular():
			if total += info.Size(); total > maxDepsBytes {
				return fmt.Errorf("the installed packages exceed %d bytes", int64(maxDepsBytes))
			}
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, info.Size()
			if info.Mode()&0o111 != 0 {
				hdr.Mode = 0o755
			}
			f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, info.Size())
			return err
		}
		return nil // fifos, sockets: nothing a package needs
	})
	if err != nil {
		return fmt.Errorf("pack the installed packages: %w", err)
	}
	return tw.Close()
}

// addedFile lists, at the root of a dependency image's installed tree, what
// was installed into it ("name==version" per line, as packagesFile).
const addedFile = ".previewd-packages.txt"

// listInstalled reads which packages an install left in dir (pip's
// dist-info directories, npm's node_modules/[@scope/]name/package.json),
// and writes them to dir/addedFile. The tree was written by the install's
// sandbox: nothing in it is followed if it is a symbolic link, and an
// addedFile it left is replaced, not written through.
func listInstalled(runtime, dir string) (map[string]string, error) {
	var pkgs map[string]string
	var err error
	switch runtime {
	case "python":
		pkgs, err = pipInstalled(dir)
	case "node":
		pkgs, err = npmInstalled(filepath.Join(dir, "node_modules"))
	default:
		return nil, fmt.Errorf("no dependency installer for runtime %q", runtime)
	}
	if err != nil {
		return nil, fmt.Errorf("list the installed packages: %w", err)
	}
	var text []byte
	for _, name := range sortedKeys(pkgs) {
		text = append(text, name+"=="+pkgs[name]+"\n"...)
	}
	list := filepath.Join(dir, addedFile)
	if err := os.Remove(list); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list the installed packages: %w", err)
	}
	f, err := os.OpenFile(list, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("list the installed packages: %w", err)
	}
	if _, err := f.Write(text); err != nil {
		f.Close()
		return nil, fmt.Errorf("list the installed packages: %w", err)
	}
	return pkgs, f.Close()
}

// pipInstalled reads the name and version of each NAME-VERSION.dist-info
// directory in dir; names are normalised as PEP 503 does.
func pipInstalled(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	pkgs := map[string]string{}
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), ".dist-info")
		if !ok || !e.IsDir() {
			continue
		}
		if name, version, ok := strings.Cut(stem, "-"); ok && name != "" && version != "" {
			pkgs[framework.NormalizePyName(name)] = version
		}
	}
	return pkgs, nil
}

// npmInstalled reads the version of each package directly in
// node_modules, scoped ones included.
func npmInstalled(nodeModules string) (map[string]string, error) {
	pkgs := map[string]string{}
	entries, err := os.ReadDir(nodeModules)
	if errors.Is(err, fs.ErrNotExist) {
		return pkgs, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !strings.HasPrefix(e.Name(), "@") {
			npmVersion(pkgs, filepath.Join(nodeModules, e.Name()), e.Name())
			continue
		}
		scoped, err := os.ReadDir(filepath.Join(nodeModules, e.Name()))
		if err != nil {
			return nil, err
		}
		for _, s := range scoped {
			if s.IsDir() {
				npmVersion(pkgs, filepath.Join(nodeModules, e.Name(), s.Name()), e.Name()+"/"+s.Name())
			}
		}
	}
	return pkgs, nil
}

// npmVersion adds the version of package name in dir to pkgs, when its
// package.json is a regular file that says one.
func npmVersion(pkgs map[string]string, dir, name string) {
	f, err := os.OpenFile(filepath.Join(dir, "package.json"), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return
	}
	defer f.Close()
	var manifest struct {
		Version string `json:"version"`
	}
	if json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&manifest) == nil && manifest.Version != "" {
		pkgs[name] = manifest.Version
	}
}
