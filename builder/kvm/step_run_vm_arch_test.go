package kvm

import (
	"slices"
	"testing"
)

func TestBuilder_advertisesTheArchitecture(t *testing.T) {
	names, _, err := (&Builder{}).Prepare(minimalConfig())
	if err != nil || !slices.Contains(names, "Architecture") {
		t.Fatalf("generated data names %v (err %v) lack Architecture", names, err)
	}
}
