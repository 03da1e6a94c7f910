package packertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The stand-in serves what packer 1.12's HCP Packer client asks for: a
// build of packer's own file builder (no guest) reaches it whole.
func TestHCPRegistry_takesAPackerBuild(t *testing.T) {
	if os.Getenv("PACKER_ACC") == "" {
		t.Skip("acceptance test: set PACKER_ACC=1 (make testacc)")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := WriteTemplate(t, `
source "file" "note" {
  content = "hello"
  target  = "note.txt"
}
build {
  hcp_packer_registry {
    bucket_name = "stand-in-check"
    build_labels = { "team" = "kvm" }
  }
  sources = ["source.file.note"]
}
`)
	registry := StartHCPRegistry(t)
	cmd := exec.Command(filepath.Join(root, ".tools", "bin", "packer"), "build", ".")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CHECKPOINT_DISABLE=1", "PACKER_PLUGIN_PATH="+t.TempDir()), registry.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("packer build: %v\n%s", err, out)
	}
	builds := registry.Builds()
	if len(builds) != 1 {
		t.Fatalf("builds %+v\n%s", builds, out)
	}
	b := builds[0]
	if b.ComponentType != "file.note" || b.Status != "BUILD_DONE" || b.Platform != "packer.file" ||
		len(b.Artifacts) != 1 || b.Artifacts[0].ExternalIdentifier != "note.txt" || b.Labels["team"] != "kvm" {
		t.Fatalf("build %+v\n%s", b, out)
	}
	if u := registry.Unexpected(); len(u) != 0 {
		t.Fatalf("calls the stand-in does not know: %v", u)
	}
}
