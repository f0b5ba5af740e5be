package kubernetes_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/previewd/previewd/sandbox/kubernetes/kubetest"
)

// The caps of a preview show in its container's cgroup, and its hardening in
// its process's status.
func TestClusterPodCgroupShowsCaps(t *testing.T) {
	env := kubetest.Cluster(t)
	ns := env.Namespace(t)
	const uid = 100123
	pod := env.RunPod(t, hardenedPod(ns, "caps", previewLabels, uid, caps{cpu: "500m", memory: "96Mi"}, sleeper...))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, stderr, err := env.Exec(ctx, ns, pod.Name, "app", "python3", "-c", cgroupScript)
	if err != nil {
		t.Fatalf("exec: %v\n%s", err, stderr)
	}
	var got struct {
		Memory      int64   `json:"memory"`
		CPUs        float64 `json:"cpus"`
		UID         int     `json:"uid"`
		CapEff      string  `json:"capeff"`
		NoNewPrivs  string  `json:"nonewprivs"`
		Seccomp     string  `json:"seccomp"`
		RootWrite   string  `json:"root_write"`
		TmpWrite    string  `json:"tmp_write"`
		TmpFSType   string  `json:"tmp_fstype"`
		CgroupFiles string  `json:"cgroup_files"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("script output %q: %v\n%s", out, err, stderr)
	}
	t.Logf("inside the Pod: %+v", got)
	if got.Memory != 96<<20 {
		t.Errorf("memory limit in the cgroup = %d, want %d (%s)", got.Memory, 96<<20, got.CgroupFiles)
	}
	if math.Abs(got.CPUs-0.5) > 1e-9 {
		t.Errorf("CPU quota in the cgroup = %v CPUs, want 0.5 (%s)", got.CPUs, got.CgroupFiles)
	}
	if got.UID != uid {
		t.Errorf("uid = %d, want %d", got.UID, uid)
	}
	if strings.Trim(got.CapEff, "0") != "" {
		t.Errorf("effective capabilities = %s, want none", got.CapEff)
	}
	if got.NoNewPrivs != "1" {
		t.Errorf("NoNewPrivs = %s, want 1", got.NoNewPrivs)
	}
	if got.Seccomp != "2" {
		t.Errorf("Seccomp = %s, want 2 (filter)", got.Seccomp)
	}
	if got.RootWrite != "EROFS" {
		t.Errorf("writing to / gave %q, want EROFS (read-only root filesystem)", got.RootWrite)
	}
	if got.TmpWrite != "ok" || got.TmpFSType != "tmpfs" {
		t.Errorf("/tmp: write %q on %q, want ok on tmpfs", got.TmpWrite, got.TmpFSType)
	}
}

// cgroupScript prints, as JSON, the caps the container's cgroup holds (v1 or
// v2) and what its process may do.
const cgroupScript = `
import errno, json, os
def read(p):
    try:
        with open(p) as f: return f.read().strip()
    except OSError: return None
r = {}
v1m, v2m = read("/sys/fs/cgroup/memory/memory.limit_in_bytes"), read("/sys/fs/cgroup/memory.max")
r["memory"] = int(v1m if v1m is not None else v2m)
q = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") or read("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us")
if q is not None:
    per = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us") or read("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us")
    r["cgroup_files"] = "v1 memory %s quota %s period %s" % (v1m, q, per)
else:
    q, per = read("/sys/fs/cgroup/cpu.max").split()
    r["cgroup_files"] = "v2 memory %s cpu.max %s %s" % (v2m, q, per)
r["cpus"] = int(q) / int(per) if q not in ("-1", "max") else -1
r["uid"] = os.getuid()
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
r["capeff"], r["nonewprivs"], r["seccomp"] = status["CapEff"].strip(), status["NoNewPrivs"].strip(), status["Seccomp"].strip()
def write(p):
    try:
        with open(p, "w") as f: f.write("x")
        return "ok"
    except OSError as e: return errno.errorcode.get(e.errno, str(e))
r["root_write"], r["tmp_write"] = write("/probe"), write("/tmp/probe")
r["tmp_fstype"] = [l.split()[2] for l in open("/proc/mounts") if l.split()[1] == "/tmp"][-1]
print(json.dumps(r))
`

// The manifests of deploy/kubernetes apply cleanly (server-side) to the
// cluster, previewd's Pods are admitted under the namespace's "restricted"
// Pod Security, and its ServiceAccount may manage Pods in its namespace only.
func TestClusterManifestsApply(t *testing.T) {
	env := kubetest.Cluster(t)
	objs, err := kubetest.ReadManifests("../../deploy/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := env.Namespace(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		if o.GetKind() == "Namespace" {
			// The namespace itself is only checked, not created: the test
			// applies the rest to a namespace of its own.
			if _, err := env.Apply(ctx, append(objs[:0:0], o), kubetest.ApplyOptions{DryRun: true}); err != nil {
				t.Errorf("namespace (dry run): %v", err)
			}
			if o.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
				t.Errorf("namespace %s does not enforce the restricted Pod Security level", o.GetName())
			}
			continue
		}
		if _, err := env.Apply(ctx, append(objs[:0:0], o), kubetest.ApplyOptions{Namespace: ns}); err != nil {
			t.Errorf("%v", err)
		}
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy", "Deployment", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("deploy/kubernetes has no %s", k)
		}
	}
	if t.Failed() {
		return
	}
	// Applying again changes nothing and fails nothing.
	if _, err := env.Apply(ctx, withoutNamespace(objs), kubetest.ApplyOptions{Namespace: ns}); err != nil {
		t.Errorf("second apply: %v", err)
	}

	// The ReplicaSet's Pods exist: admitted under "restricted" (their image
	// need not be on the node).
	dep, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "previewd", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := int(*dep.Spec.Replicas)
	if want < 2 {
		t.Errorf("previewd Deployment has %d replicas, want several", want)
	}
	for {
		pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=previewd"})
		if err == nil && len(pods.Items) == want {
			break
		}
		if ctx.Err() != nil {
			evs, _ := env.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
			var msgs []string
			for _, e := range evs.Items {
				msgs = append(msgs, e.Reason+": "+e.Message)
			}
			t.Fatalf("previewd's Pods were not created (%v); events:\n%s", err, strings.Join(msgs, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	sa := "system:serviceaccount:" + ns + ":previewd"
	for _, c := range []struct {
		ns, verb, resource string
		allowed            bool
	}{
		{ns, "create", "pods", true},
		{ns, "watch", "pods", true},
		{ns, "get", "pods/log", true},
		{ns, "delete", "pods", true},
		{"default", "create", "pods", false},
		{"kube-system", "list", "secrets", false},
		{"", "list", "nodes", false},
		{ns, "create", "networkpolicies", false},
	} {
		res, sub, _ := strings.Cut(c.resource, "/")
		group := ""
		if res == "networkpolicies" {
			group = "networking.k8s.io"
		}
		sar := &authv1.SubjectAccessReview{Spec: authv1.SubjectAccessReviewSpec{
			User:               sa,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authv1.ResourceAttributes{Namespace: c.ns, Verb: c.verb, Group: group, Resource: res, Subresource: sub},
		}}
		got, err := env.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != c.allowed {
			t.Errorf("previewd may %s %s in %q: %v, want %v", c.verb, c.resource, c.ns, got.Status.Allowed, c.allowed)
		}
	}
}

func withoutNamespace(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != "Namespace" {
			out = append(out, o)
		}
	}
	return out
}
