package v1alpha1_test

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/config/crd"
)

func TestHexBytesBytes(t *testing.T) {
	for _, tc := range []struct {
		in   diagv1.HexBytes
		want []byte
	}{
		{"", []byte{}},
		{"   ", []byte{}},
		{"22 F1 90", []byte{0x22, 0xF1, 0x90}},
		{"22F190", []byte{0x22, 0xF1, 0x90}},
		{" 22\tf1\n90\r\n", []byte{0x22, 0xF1, 0x90}},
		{"00 ff Aa", []byte{0x00, 0xFF, 0xAA}},
	} {
		got, err := tc.in.Bytes()
		if err != nil {
			t.Errorf("HexBytes(%q).Bytes(): %v", tc.in, err)
			continue
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("HexBytes(%q).Bytes() = % X, want % X", tc.in, got, tc.want)
		}
	}
}

func TestHexBytesBytesRefusesWithPosition(t *testing.T) {
	for _, tc := range []struct {
		in   diagv1.HexBytes
		want diagv1.HexError
	}{
		{"22 F1 9", diagv1.HexError{Offset: 6, Truncated: true}},
		{"2", diagv1.HexError{Offset: 0, Truncated: true}},
		{"22 G1", diagv1.HexError{Offset: 3, Char: 'G'}},
		{"2 2", diagv1.HexError{Offset: 1, Char: ' '}},
		{"0x22", diagv1.HexError{Offset: 1, Char: 'x'}},
		{"22:F1", diagv1.HexError{Offset: 2, Char: ':'}},
		{"22\x00", diagv1.HexError{Offset: 2, Char: 0}},
		{"22\vF1", diagv1.HexError{Offset: 2, Char: '\v'}},
	} {
		_, err := tc.in.Bytes()
		var he *diagv1.HexError
		if !errors.As(err, &he) {
			t.Errorf("HexBytes(%q).Bytes() error = %v, want a *HexError", tc.in, err)
			continue
		}
		if *he != tc.want {
			t.Errorf("HexBytes(%q).Bytes() error = %+v, want %+v", tc.in, *he, tc.want)
		}
		if he.Error() == "" {
			t.Errorf("HexBytes(%q).Bytes() error has no message", tc.in)
		}
	}
}

func TestNewHexBytes(t *testing.T) {
	if got := diagv1.NewHexBytes([]byte{0x22, 0xF1, 0x0A}); got != "22 F1 0A" {
		t.Errorf("NewHexBytes = %q, want \"22 F1 0A\"", got)
	}
	if got := diagv1.NewHexBytes(nil); got != "" {
		t.Errorf("NewHexBytes(nil) = %q, want \"\"", got)
	}
}

// servedHexPattern is the pattern the API server enforces on HexBytes fields, read from the
// generated CRD, so the fuzz test compares Bytes with what a cluster really accepts.
func servedHexPattern(t testing.TB) *regexp.Regexp {
	crds, err := crd.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range crds {
		if c.Spec.Names.Kind != "DiagnosticJob" {
			continue
		}
		steps := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["steps"]
		request := steps.Items.Schema.Properties["diagnostic"].Properties["request"]
		if request.Pattern == "" {
			t.Fatal("spec.steps[].diagnostic.request has no pattern in the generated CRD: run make manifests")
		}
		return regexp.MustCompile(request.Pattern)
	}
	t.Fatal("no DiagnosticJob CRD in config/crd/bases: run make manifests")
	return nil
}

// FuzzHexBytes checks that Bytes accepts exactly what the CRD pattern accepts, never panics,
// and round-trips through NewHexBytes.
func FuzzHexBytes(f *testing.F) {
	pattern := servedHexPattern(f)
	for _, seed := range []string{"", "22 F1 90", "22F190", "2", "2 2", " 0a\t0B\n", "zz", "22\v90", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := diagv1.HexBytes(s).Bytes()
		if valid := pattern.MatchString(s); valid != (err == nil) {
			t.Fatalf("HexBytes(%q): pattern match %v, Bytes error %v", s, valid, err)
		}
		if err != nil {
			return
		}
		back, err := diagv1.NewHexBytes(b).Bytes()
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of % X through NewHexBytes: % X, %v", b, back, err)
		}
	})
}
