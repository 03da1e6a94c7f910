package cidata

import (
	"path/filepath"
	"testing"
)

func TestSeedFiles_networkConfigOnlyWhenSet(t *testing.T) {
	names := func(s Seed) []string {
		var out []string
		for _, f := range s.Files() {
			out = append(out, f.Name)
		}
		return out
	}
	without := names(Seed{InstanceID: "i", Hostname: "h", UserData: "#cloud-config\n"})
	if len(without) != 2 || without[0] != "meta-data" || without[1] != "user-data" {
		t.Fatalf("files %v, want meta-data and user-data", without)
	}
	if with := names(Seed{NetworkConfig: "version: 2\n"}); len(with) != 3 || with[2] != "network-config" {
		t.Fatalf("files %v, want network-config too", with)
	}
}

func TestSeedFiles_metaDataNamesTheInstanceAndHost(t *testing.T) {
	files := Seed{InstanceID: "packer-1", Hostname: "packer-base"}.Files()
	if got := string(files[0].Content); got != "instance-id: packer-1\nlocal-hostname: packer-base\n" {
		t.Fatalf("meta-data %q", got)
	}
}

func TestSeedWrite_writesTheVolume(t *testing.T) {
	if err := (Seed{InstanceID: "i", Hostname: "h", UserData: "#cloud-config\n"}).Write(filepath.Join(t.TempDir(), "seed.iso")); err != nil {
		t.Fatal(err)
	}
}
