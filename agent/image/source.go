package image

import (
	"context"

	"github.com/ecufleet/ecufleet/pkg/flashimage"
)

// Source names where an image comes from and how to read it; exactly one of HTTP, OCI and
// ConfigMap is set, as in the download step's image field.
type Source struct {
	// HTTP is a file on a web server, pinned by its sha256.
	HTTP *HTTPSource
	// OCI is an artifact in an OCI registry.
	OCI *OCISource
	// ConfigMap is a key of a ConfigMap's binaryData.
	ConfigMap *ConfigMapSource
	// Namespace is the job's namespace, where ConfigMaps and pull secrets are looked up.
	Namespace string
	// Format is the file's format; "" or auto: the OCI title's extension, else the content.
	Format flashimage.Format
	// Address is where a binary image's first byte goes.
	Address uint32
}

// HTTPSource is an image on a web server; SHA256 is required so the bytes are pinned.
type HTTPSource struct {
	// URL is the http or https address of the file.
	URL string
	// SHA256 is the file's digest, 64 hex digits.
	SHA256 string
}

// OCISource is an OCI artifact whose single layer is the image file.
type OCISource struct {
	// Ref is the reference, registry/repository:tag or registry/repository@sha256:...
	Ref string
	// PullSecretName names a kubernetes.io/dockerconfigjson Secret in Source.Namespace; ""
	// pulls anonymously.
	PullSecretName string
}

// ConfigMapSource is a key of a ConfigMap's binaryData, for small images.
type ConfigMapSource struct {
	// Name is the ConfigMap's name.
	Name string
	// Key is the binaryData key.
	Key string
}

// ConfigMapReader reads a ConfigMap's binaryData key, so the agent can supply its Kubernetes
// client while this package stays free of it.
type ConfigMapReader interface {
	// BinaryData returns binaryData[key] of the ConfigMap namespace/name.
	BinaryData(ctx context.Context, namespace, name, key string) ([]byte, error)
}

// PullSecretReader reads the .dockerconfigjson key of a kubernetes.io/dockerconfigjson
// Secret, so the agent can supply its Kubernetes client while this package stays free of it.
type PullSecretReader interface {
	// DockerConfigJSON returns the Secret namespace/name's .dockerconfigjson bytes.
	DockerConfigJSON(ctx context.Context, namespace, name string) ([]byte, error)
}
