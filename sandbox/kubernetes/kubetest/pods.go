package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// Namespace creates a namespace of the test's own (Pod Security
// "restricted" enforced), deleted when it ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "previewd-test-" + hex.EncodeToString(b)
	// Pod Security "restricted" as in deploy/kubernetes: the API server
	// refuses a Pod that is not hardened enough.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"io.previewd.test":                   "true",
		"pod-security.kubernetes.io/enforce": "restricted",
	}}}
	if _, err := e.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		grace := int64(0)
		ctx := context.Background()
		// Pods first and at once: the namespace's deletion would give each its
		// full grace period.
		_ = e.Client.CoreV1().Pods(name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &grace}, metav1.ListOptions{})
		_ = e.Client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	})
	// The namespace's default ServiceAccount, which Pods need unless they
	// name another.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, err := e.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return name
		}
		select {
		case <-ctx.Done():
			t.Fatalf("namespace %s has no default ServiceAccount after 30s", name)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// RunPod creates pod and waits until it runs with all its containers ready.
func (e *Env) RunPod(t testing.TB, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	created, err := e.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	p, err := e.WaitPod(ctx, created.Namespace, created.Name, podReady)
	if err != nil {
		t.Fatalf("pod %s: %v", pod.Name, err)
	}
	return p
}

func podReady(p *corev1.Pod) (bool, error) {
	switch p.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, fmt.Errorf("ended (%s): %s", p.Status.Phase, describe(p))
	case corev1.PodRunning:
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return p.Status.PodIP != "", nil
			}
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImageNeverPull" || w.Reason == "CreateContainerConfigError" || w.Reason == "CreateContainerError" || w.Reason == "CrashLoopBackOff") {
			return false, fmt.Errorf("container %s: %s: %s", cs.Name, w.Reason, w.Message)
		}
	}
	return false, nil
}

// WaitPod watches a Pod until done says it is, or says why it never will be.
func (e *Env) WaitPod(ctx context.Context, ns, name string, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	var last *corev1.Pod
	for {
		list, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			last = &list.Items[i]
			if ok, err := done(last); ok || err != nil {
				return last, err
			}
		}
		w, err := e.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			return nil, err
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				break
			}
			if p, ok := ev.Object.(*corev1.Pod); ok {
				last = p
				if ok, err := done(p); ok || err != nil {
					w.Stop()
					return p, err
				}
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			if last != nil {
				return nil, fmt.Errorf("%v; last seen: %s", ctx.Err(), describe(last))
			}
			return nil, ctx.Err()
		}
	}
}

func describe(p *corev1.Pod) string {
	s := fmt.Sprintf("phase %s", p.Status.Phase)
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			s += fmt.Sprintf("; %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
		case cs.State.Terminated != nil:
			s += fmt.Sprintf("; %s terminated: %s (exit %d) %s", cs.Name, cs.State.Terminated.Reason, cs.State.Terminated.ExitCode, cs.State.Terminated.Message)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			s += fmt.Sprintf("; %s: %s", c.Type, c.Message)
		}
	}
	return s
}

// Exec runs cmd in a Pod's container and returns what it printed on stdout
// and stderr; err is set when it could not run or exited non-zero.
func (e *Env) Exec(ctx context.Context, ns, pod, container string, cmd ...string) (string, string, error) {
	req := e.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(e.Config, "GET", req.URL().String())
	if err != nil {
		return "", "", err
	}
	spdy, err := remotecommand.NewSPDYExecutor(e.Config, "POST", req.URL())
	if err != nil {
		return "", "", err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool { return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err) })
	if err != nil {
		return "", "", err
	}
	var stdout, stderr bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	return stdout.String(), stderr.String(), err
}
