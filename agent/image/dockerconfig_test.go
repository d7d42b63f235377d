package image

import (
	"encoding/base64"
	"strings"
	"testing"

	"oras.land/oras-go/v2/registry/remote/auth"
)

func TestCredentialFor(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("u:p:with:colons"))
	cfg := []byte(`{"auths":{
		"https://index.docker.io/v1/": {"auth": "` + basic + `"},
		"reg.example.com:5000": {"username": "ci", "password": "pw"},
		"tok.example.com": {"identitytoken": "refresh"}}}`)
	for host, want := range map[string]auth.Credential{
		"registry-1.docker.io": {Username: "u", Password: "p:with:colons"},
		"REG.example.com:5000": {Username: "ci", Password: "pw"},
		"tok.example.com":      {RefreshToken: "refresh"},
		"other.example.com":    auth.EmptyCredential,
		"reg.example.com":      auth.EmptyCredential, // the port is part of the host
	} {
		got, err := credentialFor(cfg, host)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", host, got, err, want)
		}
	}
	for _, bad := range []string{
		`not json`,
		`{"auths":{"h":{"auth":"%%%"}}}`,
		`{"auths":{"h":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("nocolon")) + `"}}}`,
		`{"auths":{"h":{}}}` + strings.Repeat(" ", maxDockerConfigBytes),
	} {
		if _, err := credentialFor([]byte(bad), "h"); err == nil || !strings.Contains(err.Error(), "pull secret") {
			t.Errorf("%.30q: err %v, want an error naming the pull secret", bad, err)
		}
	}
}
