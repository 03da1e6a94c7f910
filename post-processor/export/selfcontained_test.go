package export

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/hostileimage"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// kvmImageArtifact poses as the kvm builder's artifact: its image, of format,
// and the additional disks after it; backing is the source image an
// output_mode = "overlay" build's image stands on.
type kvmImageArtifact struct {
	files   []string
	format  string
	backing string
}

func (a kvmImageArtifact) BuilderId() string { return kvmBuilderID }
func (a kvmImageArtifact) Files() []string   { return a.files }
func (a kvmImageArtifact) Id() string        { return "id" }
func (a kvmImageArtifact) String() string    { return "kvm artifact" }
func (a kvmImageArtifact) Destroy() error    { return nil }
func (a kvmImageArtifact) State(name string) interface{} {
	switch name {
	case "diskType":
		return a.format
	case "kvm_backing_file":
		return a.backing
	}
	return nil
}

func exportTo(t *testing.T, out string, artifact packersdk.Artifact, extra map[string]interface{}) (packersdk.Artifact, error) {
	t.Helper()
	cfg := map[string]interface{}{"output_directory": out, "target": []map[string]interface{}{{"format": "raw"}}}
	for k, v := range extra {
		cfg[k] = v
	}
	p := configure(t, cfg)
	result, _, _, err := p.PostProcess(context.Background(), &packersdk.BasicUi{Writer: io.Discard, ErrorWriter: io.Discard}, artifact)
	return result, err
}

// noOutputs checks that a refused export wrote nothing, and that nothing
// it wrote holds the secret.
func noOutputs(t *testing.T, out string) {
	t.Helper()
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(out, e.Name()))
		if bytes.Contains(data, []byte("HOST-SECRET")) {
			t.Errorf("%s holds the host's secret", e.Name())
		}
		t.Errorf("a refused export left %s", e.Name())
	}
}

// Issue 20 item 1: an input that names a host file (through the file
// builder or artifice) is refused, whatever way it names it.
func TestPostProcess_refusesImagesThatReadHostFiles(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (make deps)")
	}
	for _, c := range hostileimage.All(t, hostileimage.Secret(t)) {
		t.Run(c.Name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, err := exportTo(t, out, fileArtifact{[]string{c.Path}}, nil)
			if err == nil || !strings.Contains(err.Error(), "is not a self-contained image") || !strings.Contains(err.Error(), c.Want) {
				t.Fatalf("error %v, want the image refused for its %s", err, c.Want)
			}
			noOutputs(t, out)
		})
	}
}

// A kvm artifact's image is read in the format the build wrote: a raw
// disk whose guest wrote a qcow2 header naming a host file into its first
// sector is exported as the raw data it is.
func TestPostProcess_readsAKvmArtifactInItsFormat(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (make deps)")
	}
	secret := hostileimage.Secret(t)
	dir := t.TempDir()
	image := filepath.Join(dir, "image.raw")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", image)
	run(t, "truncate", "-s", "4M", image)
	out := filepath.Join(dir, "out")
	result, err := exportTo(t, out, kvmImageArtifact{files: []string{image}, format: "raw"}, map[string]interface{}{"output_name": "exported"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(result.Files()[0])
	want, _ := os.ReadFile(image)
	if !bytes.Equal(got, want) {
		t.Errorf("the raw output differs from the raw input (%d bytes, want %d): it was read as another format", len(got), len(want))
	}
	if bytes.Contains(got, []byte("HOST-SECRET")) {
		t.Error("the output holds the host's secret")
	}
}

// The one chain the plugin makes: output_mode = "overlay" stands on the
// build's source image, which the artifact names. Any other backing file
// is refused, as is a source that names a file itself.
func TestPostProcess_takesOnlyTheKvmOverlaysOwnSource(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (make deps)")
	}
	secret := hostileimage.Secret(t)
	source := testImage(t)
	dir := t.TempDir()
	overlay := filepath.Join(dir, "image.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", source, "-F", "qcow2", overlay)

	out := filepath.Join(dir, "out")
	result, err := exportTo(t, out, kvmImageArtifact{files: []string{overlay}, format: "qcow2", backing: source}, nil)
	if err != nil {
		t.Fatalf("the kvm builder's own overlay was refused: %v", err)
	}
	run(t, "qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw", source, result.Files()[0])

	evil := filepath.Join(dir, "evil.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", evil)
	for name, a := range map[string]kvmImageArtifact{
		"another backing file": {files: []string{evil}, format: "qcow2", backing: source},
		"no recorded source":   {files: []string{overlay}, format: "qcow2"},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, err := exportTo(t, out, a, nil)
			if err == nil || !strings.Contains(err.Error(), "not a self-contained image") {
				t.Fatalf("error %v, want the image refused", err)
			}
			noOutputs(t, out)
		})
	}
	chained := filepath.Join(dir, "chained.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", evil, "-F", "qcow2", chained)
	out = filepath.Join(t.TempDir(), "out")
	_, err = exportTo(t, out, kvmImageArtifact{files: []string{chained}, format: "qcow2", backing: evil}, nil)
	if err == nil || !strings.Contains(err.Error(), "the backing file of") || !strings.Contains(err.Error(), secret) {
		t.Fatalf("error %v, want the overlay's backed source refused", err)
	}
	noOutputs(t, out)
}

// An additional disk is checked like the image.
func TestPostProcess_refusesAnAdditionalDiskThatReadsHostFiles(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (make deps)")
	}
	secret := hostileimage.Secret(t)
	image := testImage(t)
	disk := filepath.Join(filepath.Dir(image), "base-data.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", disk)
	out := filepath.Join(t.TempDir(), "out")
	_, err := exportTo(t, out, kvmImageArtifact{files: []string{image, disk}, format: "qcow2"}, map[string]interface{}{"include_additional_disks": true})
	if err == nil || !strings.Contains(err.Error(), "additional disk "+disk) || !strings.Contains(err.Error(), "backing file "+secret) {
		t.Fatalf("error %v, want the additional disk refused", err)
	}
	noOutputs(t, out)
}

// The outputs are no more open than the input: a private image's export
// stays private.
func TestPostProcess_outputsKeepTheInputsPermissionsAtMost(t *testing.T) {
	img := testImage(t)
	for _, c := range []struct{ in, want os.FileMode }{{0o600, 0o600}, {0o640, 0o640}, {0o755, 0o644}} {
		if err := os.Chmod(img, c.in); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		result, err := exportTo(t, out, fileArtifact{[]string{img}}, map[string]interface{}{
			"target": []map[string]interface{}{{"format": "raw"}, {"format": "vmdk", "compression": "gzip"}, {"format": "ova"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range result.Files() {
			if strings.HasSuffix(f, "SUMS") {
				continue
			}
			if st, err := os.Stat(f); err != nil || st.Mode().Perm() != c.want {
				t.Errorf("input %o: %s has mode %v, want %o", c.in, filepath.Base(f), st.Mode().Perm(), c.want)
			}
		}
	}
}
