package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// ReadManifests reads every object of the YAML files (*.yaml, in name order)
// in dir.
func ReadManifests(dir string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			var m map[string]any
			if err := d.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(m) == 0 {
				continue
			}
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("no manifests in %s", dir)
	}
	return objs, nil
}

// ApplyOptions say how Apply treats the objects.
type ApplyOptions struct {
	// Namespace, when set, replaces the namespace of every namespaced object
	// (and of the ServiceAccounts RoleBindings name).
	Namespace string
	// DryRun asks the server to check everything and store nothing.
	DryRun bool
}

// Apply applies objs with server-side apply, in order, and returns what the
// server answered for each.
func (e *Env) Apply(ctx context.Context, objs []*unstructured.Unstructured, o ApplyOptions) ([]*unstructured.Unstructured, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	var out []*unstructured.Unstructured
	for _, in := range objs {
		obj := in.DeepCopy()
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return out, fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		var ri = e.Dynamic.Resource(m.Resource)
		var res *unstructured.Unstructured
		data, err := json.Marshal(retarget(obj, m.Scope.Name() == meta.RESTScopeNameNamespace, o.Namespace))
		if err != nil {
			return out, err
		}
		opts := metav1.PatchOptions{FieldManager: "previewd-test", Force: ptr(true)}
		if o.DryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			res, err = ri.Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
		} else {
			res, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
		}
		if err != nil {
			return out, fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		out = append(out, res)
	}
	return out, nil
}

// retarget moves a namespaced object (and the ServiceAccount subjects of a
// RoleBinding) into ns.
func retarget(obj *unstructured.Unstructured, namespaced bool, ns string) *unstructured.Unstructured {
	if ns == "" || !namespaced {
		return obj
	}
	obj.SetNamespace(ns)
	if obj.GetKind() == "RoleBinding" {
		subjects, _, _ := unstructured.NestedSlice(obj.Object, "subjects")
		for _, s := range subjects {
			if sm, ok := s.(map[string]any); ok && sm["kind"] == "ServiceAccount" {
				sm["namespace"] = ns
			}
		}
		_ = unstructured.SetNestedSlice(obj.Object, subjects, "subjects")
	}
	return obj
}

func ptr[T any](v T) *T { return &v }
