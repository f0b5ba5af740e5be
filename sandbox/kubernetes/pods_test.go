package kubernetes_test

import (
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/previewd/previewd/sandbox/kubernetes/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

const runtimePython = "previewd/runtime-python:latest"

// caps are the resources of a test preview: requests equal limits.
type caps struct {
	cpu, memory string
}

// hardenedPod is a Pod the way previews run: non-root with a uid of its own,
// no capabilities, no privilege escalation, a read-only root filesystem,
// RuntimeDefault seccomp, size-capped in-memory /app and /tmp, no service
// account token, no service links.
func hardenedPod(ns, name string, labels map[string]string, uid int64, c caps, cmd ...string) *corev1.Pod {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(c.cpu),
		corev1.ResourceMemory: resource.MustParse(c.memory),
	}
	size := resource.MustParse("64Mi")
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptr(false),
			EnableServiceLinks:            ptr(false),
			TerminationGracePeriodSeconds: &grace,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr(true),
				RunAsUser:      &uid,
				RunAsGroup:     &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            "app",
				Image:           runtimePython,
				ImagePullPolicy: corev1.PullNever,
				Command:         cmd,
				WorkingDir:      "/app",
				Resources:       corev1.ResourceRequirements{Requests: rl, Limits: rl},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false),
					ReadOnlyRootFilesystem:   ptr(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "app", MountPath: "/app"}, {Name: "tmp", MountPath: "/tmp"}},
			}},
			Volumes: []corev1.Volume{
				{Name: "app", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}},
			},
		},
	}
}

// sleeper is a command that runs until the Pod is deleted.
var sleeper = []string{"python3", "-c", "import time; time.sleep(1e9)"}

// server answers HTTP on port 8080.
var server = []string{"python3", "-m", "http.server", "--directory", "/tmp", "8080"}

// previewLabels are those of a preview Pod (as on previewd's Docker containers).
var previewLabels = map[string]string{"io.previewd.managed": "true"}

func ptr[T any](v T) *T { return &v }
