package cloudimage

import (
	"regexp"
	"strings"
	"testing"
)

func debianEntries(t *testing.T) []indexEntry {
	idx, err := parseIndex([]byte(debianSums), "SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	return idx.Entries
}

func TestSelectImage_mostRecentByVersionGroup(t *testing.T) {
	re := regexp.MustCompile(`^debian-12-genericcloud-amd64-(?P<version>[0-9-]+)\.qcow2$`)
	e, version, err := selectImage(debianEntries(t), matcher{re: re}, true)
	if err != nil {
		t.Fatal(err)
	}
	if version != "20240211-1654" || e.Name != "debian-12-genericcloud-amd64-20240211-1654.qcow2" {
		t.Fatalf("picked %s (version %q)", e.Name, version)
	}
}

func TestSelectImage_severalMatchesNeedMostRecent(t *testing.T) {
	re := regexp.MustCompile(`genericcloud-amd64`)
	_, _, err := selectImage(debianEntries(t), matcher{re: re}, false)
	if err == nil || !strings.Contains(err.Error(), "3 images match") || !strings.Contains(err.Error(), "most_recent") {
		t.Fatalf("want an error listing the matches, got %v", err)
	}
}

func TestSelectImage_noMatchShowsWhatIsThere(t *testing.T) {
	_, _, err := selectImage(debianEntries(t), matcher{glob: "ubuntu-*.img"}, true)
	if err == nil || !strings.Contains(err.Error(), "debian-12-genericcloud-amd64-20240102-1614.qcow2") {
		t.Fatalf("want an error naming present images, got %v", err)
	}
}

func TestSelectImage_globWithoutVersionOrdersByName(t *testing.T) {
	entries := []indexEntry{{Name: "rocky-9.9.qcow2"}, {Name: "rocky-9.10.qcow2"}, {Name: "rocky-9.2.qcow2"}}
	e, _, err := selectImage(entries, matcher{glob: "rocky-*.qcow2"}, true)
	if err != nil || e.Name != "rocky-9.10.qcow2" {
		t.Fatalf("picked %s (%v), want 9.10 by natural order", e.Name, err)
	}
}

func TestNaturalLess(t *testing.T) {
	ordered := []string{"1.2", "1.10", "9", "09.1", "20231228-1609", "20240102-1614", "20240211-1654", "20240211-1654a"}
	for i := 0; i+1 < len(ordered); i++ {
		if !naturalLess(ordered[i], ordered[i+1]) || naturalLess(ordered[i+1], ordered[i]) {
			t.Errorf("%q should sort before %q", ordered[i], ordered[i+1])
		}
	}
}
