package image

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// dockerConfig is the .dockerconfigjson key of a kubernetes.io/dockerconfigjson Secret.
type dockerConfig struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// maxDockerConfigBytes bounds a pull secret: Secrets are at most 1 MiB.
const maxDockerConfigBytes = 1 << 20

// credentialFor returns the credential in a .dockerconfigjson for a registry host (as
// host[:port]); entries may be spelled as a host or a URL ("https://host/v1/"). A host
// with no entry gets the empty credential (anonymous).
func credentialFor(configJSON []byte, host string) (auth.Credential, error) {
	if len(configJSON) > maxDockerConfigBytes {
		return auth.EmptyCredential, fmt.Errorf("pull secret .dockerconfigjson is %d bytes, more than %d", len(configJSON), maxDockerConfigBytes)
	}
	var cfg dockerConfig
	if err := json.Unmarshal(configJSON, &cfg); err != nil {
		return auth.EmptyCredential, fmt.Errorf("pull secret .dockerconfigjson: %w; want {\"auths\": {\"host\": {...}}}", err)
	}
	for key, a := range cfg.Auths {
		if !sameRegistry(registryHost(key), host) {
			continue
		}
		cred := auth.Credential{Username: a.Username, Password: a.Password, RefreshToken: a.IdentityToken, AccessToken: a.RegistryToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return auth.EmptyCredential, fmt.Errorf("pull secret entry %q: auth is not base64: %w", key, err)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return auth.EmptyCredential, fmt.Errorf("pull secret entry %q: auth decodes to no user:password", key)
			}
			cred.Username, cred.Password = user, pass
		}
		return cred, nil
	}
	return auth.EmptyCredential, nil
}

// registryHost reduces a dockerconfigjson key ("https://host:5000/v1/", "host") to host[:port].
func registryHost(key string) string {
	if _, rest, ok := strings.Cut(key, "://"); ok {
		key = rest
	}
	host, _, _ := strings.Cut(key, "/")
	return strings.ToLower(host)
}

// sameRegistry matches a secret's host to the host oras asks for; Docker Hub has three names.
func sameRegistry(secretHost, host string) bool {
	hub := func(h string) string {
		switch h {
		case "docker.io", "index.docker.io", "registry-1.docker.io":
			return "docker.io"
		}
		return h
	}
	return hub(secretHost) == hub(strings.ToLower(host))
}
