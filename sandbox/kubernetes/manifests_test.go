package kubernetes_test

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/previewd/previewd/sandbox/kubernetes/kubetest"
)

// decodeManifests reads deploy/kubernetes strictly (an unknown or misspelt
// field is an error) into typed objects.
func decodeManifests(t *testing.T) []runtime.Object {
	t.Helper()
	objs, err := kubetest.ReadManifests("../../deploy/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	var out []runtime.Object
	for _, o := range objs {
		b, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		typed, _, err := dec.Decode(b, nil, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
		out = append(out, typed)
	}
	return out
}

// Without a cluster: the manifests are well-formed, all in one namespace,
// RBAC stays inside it, the policy isolates every Pod but previewd's, and
// previewd's Pods meet the restricted Pod Security level.
func TestManifestsWellFormed(t *testing.T) {
	var (
		ns      *corev1.Namespace
		policy  *networkingv1.NetworkPolicy
		deploy  *appsv1.Deployment
		binding *rbacv1.RoleBinding
		sa      *corev1.ServiceAccount
		svc     *corev1.Service
	)
	for _, o := range decodeManifests(t) {
		if m, ok := o.(metav1.Object); ok && m.GetNamespace() != "" && m.GetNamespace() != "previewd" {
			t.Errorf("%T %s is in namespace %q, want previewd", o, m.GetName(), m.GetNamespace())
		}
		switch v := o.(type) {
		case *corev1.Namespace:
			ns = v
		case *networkingv1.NetworkPolicy:
			policy = v
		case *appsv1.Deployment:
			deploy = v
		case *rbacv1.RoleBinding:
			binding = v
		case *corev1.ServiceAccount:
			sa = v
		case *corev1.Service:
			svc = v
		case *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding:
			t.Errorf("%T: previewd's rights must stay inside its namespace", o)
		}
	}
	if ns == nil || policy == nil || deploy == nil || binding == nil || sa == nil || svc == nil {
		t.Fatalf("missing objects: namespace %v, policy %v, deployment %v, rolebinding %v, serviceaccount %v, service %v",
			ns != nil, policy != nil, deploy != nil, binding != nil, sa != nil, svc != nil)
	}
	if ns.Name != "previewd" || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s labels %v: want previewd enforcing restricted", ns.Name, ns.Labels)
	}
	if binding.RoleRef.Kind != "Role" || len(binding.Subjects) != 1 || binding.Subjects[0].Name != sa.Name {
		t.Errorf("RoleBinding %+v: want the Role bound to ServiceAccount %s only", binding, sa.Name)
	}

	// The policy: egress none, ingress only from previewd, for any Pod that
	// is not previewd's (a preview with no label at all included).
	sel, err := metav1.LabelSelectorAsSelector(&policy.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	previewdLabels := labels.Set(deploy.Spec.Template.Labels)
	for _, l := range []labels.Set{previewLabels, {}, {"app": "x"}} {
		if !sel.Matches(l) {
			t.Errorf("policy does not select a Pod labelled %v", l)
		}
	}
	if sel.Matches(previewdLabels) {
		t.Errorf("policy selects previewd's own Pods (%v)", previewdLabels)
	}
	if len(policy.Spec.Egress) != 0 || len(policy.Spec.PolicyTypes) != 2 {
		t.Errorf("policy egress %v, types %v: want no egress rule, both types", policy.Spec.Egress, policy.Spec.PolicyTypes)
	}
	if len(policy.Spec.Ingress) != 1 || len(policy.Spec.Ingress[0].From) != 1 || policy.Spec.Ingress[0].From[0].PodSelector == nil {
		t.Fatalf("policy ingress %+v: want one rule from previewd's Pods", policy.Spec.Ingress)
	}
	from, err := metav1.LabelSelectorAsSelector(policy.Spec.Ingress[0].From[0].PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !from.Matches(previewdLabels) || from.Matches(labels.Set(previewLabels)) || policy.Spec.Ingress[0].From[0].NamespaceSelector != nil {
		t.Errorf("policy ingress from %v: want previewd's Pods of this namespace only", from)
	}

	// previewd's Pods: several, restricted-compliant, behind the Service.
	if deploy.Spec.Replicas == nil || *deploy.Spec.Replicas < 2 {
		t.Errorf("previewd replicas %v, want several", deploy.Spec.Replicas)
	}
	pod := deploy.Spec.Template.Spec
	if pod.ServiceAccountName != sa.Name {
		t.Errorf("previewd runs as ServiceAccount %q, want %q", pod.ServiceAccountName, sa.Name)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("previewd Pod security context %+v: want runAsNonRoot and RuntimeDefault seccomp", psc)
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
			t.Errorf("container %s security context %+v: want no privilege escalation, all capabilities dropped", c.Name, sc)
		}
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(previewdLabels) {
		t.Errorf("Service selector %v does not match previewd's Pods", svc.Spec.Selector)
	}
}
