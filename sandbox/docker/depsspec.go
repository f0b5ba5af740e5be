package docker

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-units"

	"github.com/previewd/previewd/sandbox/backend"
)

// A dependency install runs in a container of its own, created from the
// runtime image: as a uid no preview holds, with every capability dropped,
// no-new-privileges, a read-only root filesystem, the launching preview's
// memory, CPU and pids caps, and no network. Only three host directories of
// the build are writable or visible in it: the install target, its /tmp,
// and a read-only control directory with the manifest and the socket of the
// allow-list proxy (see sandbox/depsproxy.go). A small relay started by the
// install's own command (python3 or node, both in their images) listens on
// 127.0.0.1 and forwards to that socket, and pip or npm use it as their
// proxy. Once the install has succeeded, its target directory (and nothing
// else the install wrote) is copied into the dependency image by a build
// that runs no code.

// Paths inside the build container.
const (
	buildControlDir = "/run/previewd-build"
	buildProxySock  = buildControlDir + "/proxy.sock"
)

// relayPython listens on an ephemeral 127.0.0.1 port, relays each
// connection to the proxy's unix socket (argv[1]), and runs the command in
// argv[2:] with the proxy variables pointing at it; it exits with the
// command's status. Listening before the command starts means no wait.
const relayPython = `import os, socket, subprocess, sys, threading
sock_path, cmd = sys.argv[1], sys.argv[2:]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(128)
def pipe(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def relay(c):
    u = socket.socket(socket.AF_UNIX)
    try:
        u.connect(sock_path)
    except OSError:
        c.close()
        return
    t = threading.Thread(target=pipe, args=(u, c), daemon=True)
    t.start()
    pipe(c, u)
    t.join()
    c.close()
    u.close()
def accept():
    while True:
        c, _ = srv.accept()
        threading.Thread(target=relay, args=(c,), daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
proxy = "http://127.0.0.1:%d" % srv.getsockname()[1]
env = dict(os.environ, http_proxy=proxy, https_proxy=proxy, HTTP_PROXY=proxy, HTTPS_PROXY=proxy, no_proxy="", NO_PROXY="")
sys.stdout.flush()
sys.exit(subprocess.call(cmd, env=env))
`

// relayNode is relayPython for the Node image.
const relayNode = `const net = require("net"), cp = require("child_process");
const [sockPath, ...cmd] = process.argv.slice(1);
const srv = net.createServer({allowHalfOpen: true}, c => {
  const u = net.connect({path: sockPath, allowHalfOpen: true});
  c.on("error", () => u.destroy());
  u.on("error", () => c.destroy());
  c.pipe(u);
  u.pipe(c);
});
srv.listen(0, "127.0.0.1", () => {
  const proxy = "http://127.0.0.1:" + srv.address().port;
  const env = Object.assign({}, process.env, {http_proxy: proxy, https_proxy: proxy, HTTP_PROXY: proxy, HTTPS_PROXY: proxy,
    npm_config_proxy: proxy, npm_config_https_proxy: proxy, no_proxy: "", NO_PROXY: ""});
  const child = cp.spawn(cmd[0], cmd.slice(1), {stdio: "inherit", env});
  child.on("error", e => { console.error(e.message); process.exit(127); });
  child.on("exit", code => process.exit(code === null ? 1 : code));
});
`

// installCommand is the install's command line, relay included.
func installCommand(s backend.InstallSpec) ([]string, error) {
	switch s.Runtime {
	// No retries, 5 s per read: an index that cannot be reached fails the
	// launch in seconds rather than after a retry storm (the proxy answers
	// 502 as soon as it cannot connect upstream).
	case "python":
		pip := []string{"python3", "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--no-input",
			"--no-color", "--retries", "0", "--timeout", "5", "--index-url", s.IndexURL}
		if u, err := url.Parse(s.IndexURL); err == nil && u.Scheme == "http" {
			// An http index is the operator's choice; pip would otherwise
			// ignore it unless it is on loopback.
			pip = append(pip, "--trusted-host", u.Hostname())
		}
		pip = append(pip, "--target", backend.InstallTarget(s.Runtime), "-r", buildControlDir+"/requirements.txt")
		return append([]string{"python3", "-c", relayPython, buildProxySock}, pip...), nil
	case "node":
		npm := []string{"npm", "install", "--omit=dev", "--no-audit", "--no-fund", "--no-update-notifier",
			"--color=false", "--progress=false", "--fetch-retries=0", "--fetch-timeout=5000", "--registry", s.Registry}
		if !s.AllowScripts {
			npm = append(npm, "--ignore-scripts")
		}
		return append([]string{"node", "-e", relayNode, "--", buildProxySock}, npm...), nil
	}
	return nil, fmt.Errorf("no dependency installer for runtime %q", s.Runtime)
}

// installContainerSpec turns an installSpec into the engine's container and
// host configuration.
func installContainerSpec(s backend.InstallSpec) (*container.Config, *container.HostConfig, error) {
	cmd, err := installCommand(s)
	if err != nil {
		return nil, nil, err
	}
	memory := int64(s.Caps.MemoryMB) * units.MiB
	pids := int64(s.Caps.Pids)
	init := true
	nofile := s.NoFile
	if nofile <= 0 {
		nofile = 4096
	}
	cfg := &container.Config{
		Image:      s.Image,
		User:       fmt.Sprintf("%d:%d", backend.BuildUID, backend.BuildUID),
		Entrypoint: cmd[:1],
		Cmd:        cmd[1:],
		// No colours or progress redraws: the output is read as lines.
		Env: []string{"HOME=/tmp", "USER=build", "LOGNAME=build", "npm_config_cache=/tmp/.npm", "npm_config_update_notifier=false",
			"NO_COLOR=1", "PIP_NO_COLOR=1", "npm_config_color=false", "npm_config_progress=false"},
		WorkingDir: backend.InstallTarget(s.Runtime),
		// Labelled as a scratch container: a previewd killed mid-install
		// leaves it for the next start's sweep (see Backend.Sweep).
		Labels:          map[string]string{backend.LabelManaged: managedScratch, backend.LabelRunner: s.RunnerID},
		NetworkDisabled: true,
	}
	host := &container.HostConfig{
		NetworkMode: "none",
		Binds: []string{
			s.ControlDir + ":" + buildControlDir + ":ro",
			s.TargetDir + ":" + backend.InstallTarget(s.Runtime) + ":rw",
			s.TmpDir + ":/tmp:rw",
		},
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Init:           &init,
		ShmSize:        16 * units.MiB,
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig: container.LogConfig{
			Type:   "json-file",
			Config: map[string]string{"max-size": strconv.FormatInt(max(s.LogMaxBytes, 1<<20), 10), "max-file": "1"},
		},
		Resources: container.Resources{
			Memory:     memory,
			MemorySwap: memory,
			NanoCPUs:   int64(s.Caps.CPUs * 1e9),
			PidsLimit:  &pids,
			Ulimits:    []*container.Ulimit{{Name: "nofile", Soft: nofile, Hard: nofile}},
		},
	}
	return cfg, host, nil
}
