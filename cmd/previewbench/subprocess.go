package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// subprocess runs the app as a plain process on the host, with no container
// and no caps: the runtime image's file system is exported once into a
// directory, and the app's command runs chrooted into it (so it finds the
// same interpreter and packages) as the sandbox user.
type subprocess struct {
	roots map[string]string // image → exported root
	runs  int
}

func newSubprocess(ctx context.Context, apps []app) (path, func(), error) {
	if os.Geteuid() != 0 {
		return nil, nil, fmt.Errorf("the subprocess path needs root (chroot)")
	}
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	base, err := os.MkdirTemp("", "previewbench-root-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(base) }
	p := &subprocess{roots: map[string]string{}}
	for _, a := range apps {
		if p.roots[a.image] != "" {
			continue
		}
		dir := filepath.Join(base, strconv.Itoa(len(p.roots)))
		if err := exportImage(ctx, c, a.image, dir); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("export %s: %w", a.image, err)
		}
		p.roots[a.image] = dir
	}
	return p, cleanup, nil
}

// exportImage unpacks image's file system into dir.
func exportImage(ctx context.Context, c *client.Client, image, dir string) error {
	resp, err := c.ContainerCreate(ctx, &container.Config{Image: image}, nil, nil, nil, "")
	if err != nil {
		return err
	}
	defer c.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	rc, err := c.ContainerExport(ctx, resp.ID)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	untar.Stdin = rc
	if out, err := untar.CombinedOutput(); err != nil {
		return fmt.Errorf("tar: %v: %s", err, out)
	}
	return nil
}

func (*subprocess) name() string { return "subprocess" }

func (p *subprocess) launch(ctx context.Context, a app) (time.Duration, func(), error) {
	root := p.roots[a.image]
	p.runs++
	appDir := "/bench/" + strconv.Itoa(p.runs)
	for name, body := range a.files {
		f := filepath.Join(root, appDir, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return 0, nil, err
		}
		if err := os.WriteFile(f, body, 0o644); err != nil {
			return 0, nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return 0, nil, err
	}
	argv := a.plan.Exec
	if argv == nil {
		return 0, nil, fmt.Errorf("%s needs a shell to start", a.name)
	}
	argv = withPort(argv, port)

	start := time.Now()
	// Resolved inside the root, not on the host.
	cmd := &exec.Cmd{Path: argv[0], Args: argv}
	if !strings.Contains(argv[0], "/") {
		cmd.Path = "/usr/bin/" + argv[0]
	}
	cmd.Dir = filepath.Join(appDir, a.plan.Dir)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1",
		"PORT=" + strconv.Itoa(port), "HOST=127.0.0.1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: 10001, Gid: 10001},
		Setpgid:    true,
	}
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	cleanup := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		os.RemoveAll(filepath.Join(root, appDir))
	}
	if err := pollHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/", port), 60*time.Second); err != nil {
		return 0, cleanup, err
	}
	return time.Since(start), cleanup, nil
}

// withPort points a command at port instead of the preview app port.
func withPort(argv []string, port int) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		switch {
		case a == "8000":
			out[i] = strconv.Itoa(port)
		case strings.HasSuffix(a, ":8000"):
			out[i] = "127.0.0.1:" + strconv.Itoa(port)
		case a == "0.0.0.0":
			out[i] = "127.0.0.1"
		default:
			out[i] = a
		}
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
