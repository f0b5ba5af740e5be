// Package kubetest gives tests a real Kubernetes cluster: the one $KUBECONFIG
// points at, or else a single-node cluster on this machine's Docker engine,
// started with `make kube-up` the first time a test asks for it and taken
// down (host restored) with `make kube-down` when the package's tests end.
//
// Without root or without Docker, the tests that need a cluster are skipped
// with the reason printed, and with CI set they fail. Without the cluster's
// binaries (`make kube-build` builds them once per machine, about 40 minutes
// on 2 cores; `make test` does not yet), or on a kernel without the
// nftables queue support the NetworkPolicy engine needs (up.sh
// --check-host), they are skipped with the reason printed, CI or not.
//
// A package using it runs its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }
package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Env is a cluster the tests can use.
type Env struct {
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	// Local is true when this package started the cluster on this machine
	// (its node is this host; the stand-in metadata service is there).
	Local bool
	// NodeName and NodeIP are those of the first Ready node.
	NodeName, NodeIP string
}

var (
	once    sync.Once
	env     *Env
	skipWhy string // set when the cluster cannot be had here
	// cannotHere says why is a limit of this machine that no install step
	// lifts: the cluster's binaries are not built (make kube-build), or the
	// kernel lacks what the policy engine needs.
	cannotHere bool
	setupErr   error
	// dir is the cluster's directory when this package started it.
	dir  string
	lock *os.File
)

// Main runs the tests and then takes down the cluster if they started one.
func Main(m *testing.M) int {
	code := m.Run()
	if dir != "" {
		if out, err := makeTarget("kube-down", "KUBE_DIR="+dir); err != nil {
			fmt.Fprintf(os.Stderr, "kubetest: make kube-down: %v\n%s", err, out)
			if code == 0 {
				code = 1
			}
		}
	}
	if lock != nil {
		lock.Close()
	}
	return code
}

// Cluster returns the cluster, starting it on first use. It skips the test
// (fails it with CI set) when there is none to be had.
func Cluster(t testing.TB) *Env {
	t.Helper()
	once.Do(setup)
	if skipWhy != "" {
		if os.Getenv("CI") != "" && !cannotHere {
			t.Fatalf("no Kubernetes test cluster: %s", skipWhy)
		}
		t.Skipf("SKIPPED, no Kubernetes test cluster: %s", skipWhy)
	}
	if setupErr != nil {
		t.Fatalf("Kubernetes test cluster: %v", setupErr)
	}
	return env
}

func setup() {
	kc := os.Getenv("KUBECONFIG")
	local := false
	if kc == "" {
		if why := localPrerequisites(); why != "" {
			skipWhy = why
			fmt.Fprintf(os.Stderr, "kubetest: SKIPPING the cluster tests: %s\n", why)
			return
		}
		// One cluster per Docker engine: packages whose tests need one
		// take turns.
		f, err := os.OpenFile("/run/previewd-kube.lock", os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			setupErr = err
			return
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			setupErr = err
			return
		}
		lock = f
		start := time.Now()
		out, err := makeTarget("kube-up", "KUBE_OWNER_PID="+strconv.Itoa(os.Getpid()))
		if err != nil {
			setupErr = fmt.Errorf("make kube-up: %v\n%s", err, out)
			return
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "export KUBECONFIG=") {
			setupErr = fmt.Errorf("make kube-up did not end with export KUBECONFIG=…:\n%s", out)
			return
		}
		kc = strings.TrimPrefix(last, "export KUBECONFIG=")
		dir = filepath.Dir(kc)
		local = true
		fmt.Fprintf(os.Stderr, "kubetest: test cluster up in %s (%.1fs)\n", dir, time.Since(start).Seconds())
	}
	env, setupErr = connect(kc, local)
}

// localPrerequisites says why a local cluster cannot be started, or "".
func localPrerequisites() string {
	root, err := repoRoot()
	if err != nil {
		return err.Error()
	}
	if os.Geteuid() != 0 {
		return "KUBECONFIG is unset and starting a local cluster needs root"
	}
	if _, err := exec.LookPath("docker"); err != nil {
		return "KUBECONFIG is unset and there is no docker command for a local cluster"
	}
	if _, err := exec.LookPath("make"); err != nil {
		return "KUBECONFIG is unset and there is no make command to start a local cluster"
	}
	c := exec.Command("bash", filepath.Join(root, "deploy", "kube-test-cluster", "build.sh"), "--check")
	if out, err := c.CombinedOutput(); err != nil {
		cannotHere = true
		return "KUBECONFIG is unset and the local cluster's binaries are " + strings.TrimSpace(string(out)) + ""
	}
	c = exec.Command("bash", filepath.Join(root, "deploy", "kube-test-cluster", "up.sh"), "--check-host")
	if out, err := c.CombinedOutput(); err != nil {
		cannotHere = true
		return "KUBECONFIG is unset and this host cannot run the local cluster: " + strings.TrimSpace(string(out))
	}
	return ""
}

func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "deploy", "kube-test-cluster", "up.sh")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", errors.New("deploy/kube-test-cluster/up.sh not found above the working directory")
		}
		d = p
	}
}

func makeTarget(target string, vars ...string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	c := exec.Command("make", append([]string{"-s", "-C", root, target}, vars...)...)
	var out bytes.Buffer
	c.Stdout = &out
	c.Stderr = &out
	err = c.Run()
	return out.String(), err
}

func connect(kubeconfig string, local bool) (*Env, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	e := &Env{Kubeconfig: kubeconfig, Config: cfg, Client: cs, Dynamic: dyn, Local: local}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, n := range nodes.Items {
				if nodeReady(&n) {
					e.NodeName = n.Name
					for _, a := range n.Status.Addresses {
						if a.Type == corev1.NodeInternalIP {
							e.NodeIP = a.Address
						}
					}
					return e, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no Ready node in %s (last error: %v)", kubeconfig, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
