package agent

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/agent/image"
)

// newFetcher builds the agent's one image fetcher: its cache on disk, and ConfigMaps and pull
// secrets read through r.
func newFetcher(opts Options, r client.Reader, log logr.Logger) *image.Fetcher {
	ir := imageReader{r: r}
	return &image.Fetcher{
		Cache:       &image.Cache{Dir: opts.ImageCacheDir, MaxBytes: opts.ImageCacheSize},
		ConfigMaps:  ir,
		PullSecrets: ir,
		Log:         log.WithName("image"),
	}
}

// imageReader reads the ConfigMaps and pull secrets download steps name. It reads from the API
// server (the manager's API reader), never from a cache, so the agent needs only get on them
// and holds no cluster-wide watch on Secrets.
type imageReader struct {
	r client.Reader
}

// BinaryData returns the key of the ConfigMap's binaryData or, since `kubectl create configmap
// --from-file` puts text files such as Intel HEX there, of its data.
func (ir imageReader) BinaryData(ctx context.Context, namespace, name, key string) ([]byte, error) {
	cm := &corev1.ConfigMap{}
	if err := ir.r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, cm); err != nil {
		return nil, readError("ConfigMap", namespace, name, err)
	}
	if b, ok := cm.BinaryData[key]; ok {
		return b, nil
	}
	if s, ok := cm.Data[key]; ok {
		return []byte(s), nil
	}
	return nil, fmt.Errorf("ConfigMap %s/%s has no key %q in binaryData or data", namespace, name, key)
}

// DockerConfigJSON returns the .dockerconfigjson key of a kubernetes.io/dockerconfigjson Secret.
func (ir imageReader) DockerConfigJSON(ctx context.Context, namespace, name string) ([]byte, error) {
	s := &corev1.Secret{}
	if err := ir.r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s); err != nil {
		return nil, readError("pull secret", namespace, name, err)
	}
	b, ok := s.Data[corev1.DockerConfigJsonKey]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s of type %q has no %s key: create it with kubectl create secret docker-registry",
			namespace, name, s.Type, corev1.DockerConfigJsonKey)
	}
	return b, nil
}

// readError names the object that could not be read and, when RBAC refused it, the role to bind.
func readError(what, namespace, name string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("read %s %s/%s: %w (bind ClusterRole ecufleet-agent-images to the agent in namespace %s, see docs/flashing.md)",
			what, namespace, name, err, namespace)
	}
	return fmt.Errorf("read %s %s/%s: %w", what, namespace, name, err)
}
