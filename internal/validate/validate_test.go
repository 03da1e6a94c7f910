package validate

import (
	"errors"
	"strings"
	"testing"
)

func TestOneOf(t *testing.T) {
	t.Parallel()
	allowed := []string{"qcow2", "raw"}
	for _, ok := range []string{"qcow2", "raw", Unknown} {
		if err := OneOf("format", ok, allowed); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "vmdk", "QCOW2", " raw"} {
		err := OneOf("target[1].format", bad, allowed)
		want := `target[1].format "` + bad + `" is not valid: use one of qcow2, raw`
		if err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %q", bad, err, want)
		}
	}
}

func TestIsUnknown(t *testing.T) {
	t.Parallel()
	if !IsUnknown("<unknown>") || IsUnknown("") || IsUnknown("unknown") || !strings.Contains(Unknown, "unknown") {
		t.Fatal("IsUnknown does not recognize exactly Packer's placeholder")
	}
}

func TestPrefixErrors_namesTheGroupOnlyWhereMissing(t *testing.T) {
	got := PrefixErrors("http", []error{errors.New("http_port_min must be less than http_port_max"), errors.New("port out of range")})
	if got[0].Error() != "http_port_min must be less than http_port_max" || got[1].Error() != "http: port out of range" {
		t.Fatalf("PrefixErrors = %v", got)
	}
}
