package kubernetes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/previewd/previewd/sandbox/kubernetes/kubetest"
)

// With deploy/kubernetes's NetworkPolicy, a preview Pod reaches nothing: not
// the internet, not the metadata address, not the node, not another Pod;
// only previewd's Pods reach it. Without the policy the same Pod reaches all
// of them (so that the test can fail).
func TestClusterNetworkPolicyIsolatesPreviews(t *testing.T) {
	env := kubetest.Cluster(t)
	ns := env.Namespace(t)
	internet := internetTarget(t)

	preview := env.RunPod(t, hardenedPod(ns, "preview", previewLabels, 100201, caps{cpu: "250m", memory: "64Mi"}, server...))
	other := env.RunPod(t, hardenedPod(ns, "other-preview", previewLabels, 100202, caps{cpu: "250m", memory: "64Mi"}, server...))
	previewd := env.RunPod(t, hardenedPod(ns, "previewd", map[string]string{"app.kubernetes.io/name": "previewd"}, 100203, caps{cpu: "250m", memory: "64Mi"}, sleeper...))

	egress := map[string]string{
		"internet":      internet,
		"node kubelet":  net.JoinHostPort(env.NodeIP, "10250"),
		"another Pod":   net.JoinHostPort(other.Status.PodIP, "8080"),
		"metadata addr": "169.254.169.254:80",
	}
	if !env.Local {
		// Only the local cluster has a stand-in metadata service to show
		// the address reachable without the policy; elsewhere only the
		// block is checked.
		delete(egress, "metadata addr")
	}
	ingress := map[string]string{"preview from previewd": net.JoinHostPort(preview.Status.PodIP, "8080")}

	// Without the policy: everything is reachable.
	waitProbes(t, env, ns, preview.Name, egress, true)
	waitProbes(t, env, ns, previewd.Name, ingress, true)

	objs, err := kubetest.ReadManifests("../../deploy/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	var policies []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "NetworkPolicy" {
			policies = append(policies, o)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := env.Apply(ctx, policies, kubetest.ApplyOptions{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	if !env.Local {
		egress["metadata addr"] = "169.254.169.254:80"
	}
	// With it: nothing is, once the policy engine has caught up; previewd
	// still reaches the preview.
	waitProbes(t, env, ns, preview.Name, egress, false)
	waitProbes(t, env, ns, other.Name, map[string]string{"a preview from another": net.JoinHostPort(preview.Status.PodIP, "8080")}, false)
	waitProbes(t, env, ns, previewd.Name, ingress, true)
	// And it stays so.
	checkProbes(t, env, ns, preview.Name, egress, false)
}

// internetTarget is deb.debian.org's address (resolved here: previews have no
// DNS once isolated) with port 80.
func internetTarget(t *testing.T) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIP(ctx, "ip4", "deb.debian.org")
	if err != nil || len(addrs) == 0 {
		t.Fatalf("resolve deb.debian.org (the test's internet target): %v", err)
	}
	return net.JoinHostPort(addrs[0].String(), "80")
}

// waitProbes probes targets from pod until every one is reachable (or, with
// reachable false, none is), for up to a minute: NetworkPolicy applies
// asynchronously.
func waitProbes(t *testing.T, env *kubetest.Env, ns, pod string, targets map[string]string, reachable bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := probe(env, ns, pod, targets)
		if err == nil && allAre(got, reachable) {
			t.Logf("from %s: %v", pod, got)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("from %s, want every target reachable=%v; got %v (err %v)", pod, reachable, got, err)
		}
		time.Sleep(time.Second)
	}
}

// checkProbes probes once and wants every target as said.
func checkProbes(t *testing.T, env *kubetest.Env, ns, pod string, targets map[string]string, reachable bool) {
	t.Helper()
	got, err := probe(env, ns, pod, targets)
	if err != nil || !allAre(got, reachable) {
		t.Fatalf("from %s, want every target reachable=%v; got %v (err %v)", pod, reachable, got, err)
	}
}

func allAre(got map[string]string, reachable bool) bool {
	for _, v := range got {
		if isReachable(v) != reachable {
			return false
		}
	}
	return len(got) > 0
}

// A target is reachable when a connection opens or is refused (an answer came
// back); blocked when nothing answers.
func isReachable(result string) bool { return result == "open" || result == "refused" }

// probe tries a TCP connection to each target from inside pod, all at once,
// three seconds each.
func probe(env *kubetest.Env, ns, pod string, targets map[string]string) (map[string]string, error) {
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	var args []string
	for _, n := range names {
		args = append(args, n+"="+targets[n])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, stderr, err := env.Exec(ctx, ns, pod, "app", append([]string{"python3", "-c", probeScript}, args...)...)
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &got); err != nil {
		return nil, fmt.Errorf("probe printed %q (stderr %q): %v", out, stderr, err)
	}
	return got, nil
}

const probeScript = `
import json, socket, sys, threading
res = {}
def try_(name, addr):
    host, port = addr.rsplit(":", 1)
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(3)
    try:
        s.connect((host.strip("[]"), int(port))); res[name] = "open"
    except ConnectionRefusedError: res[name] = "refused"
    except socket.timeout: res[name] = "timeout"
    except OSError as e: res[name] = "error: " + str(e)
    finally: s.close()
ts = [threading.Thread(target=try_, args=a.split("=", 1)) for a in sys.argv[1:]]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps(res))
`
