package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// fakeImageTool stands in for qemu-img: Info answers from a table,
// Convert writes the source's path and the options it was given (so each
// output's content, and its digest, says how it was made) and reports
// progress, and every call is recorded.
type fakeImageTool struct {
	infos     map[string]*qemuimg.Info
	failOn    string // Convert fails for a destination with this extension
	progress  []int
	mu        sync.Mutex
	overlays  []string
	converted map[string]string // dst base name -> "src options"
}

func (f *fakeImageTool) Info(_ context.Context, path string) (*qemuimg.Info, error) {
	if info, ok := f.infos[path]; ok {
		return info, nil
	}
	return nil, fmt.Errorf("qemu-img info %s: not an image", path)
}

func (f *fakeImageTool) InfoAs(ctx context.Context, path, format string) (*qemuimg.Info, error) {
	return f.Info(ctx, path)
}

func (f *fakeImageTool) CreateOverlay(_ context.Context, backing, backingFormat, path string, size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.overlays = append(f.overlays, fmt.Sprintf("%s %s %d", backing, backingFormat, size))
	return os.WriteFile(path, []byte("overlay"), 0o600)
}

func (f *fakeImageTool) Convert(_ context.Context, src, dst string, options []string, progress func(int)) error {
	if f.failOn != "" && strings.HasSuffix(dst, f.failOn) {
		os.WriteFile(dst, []byte("partial"), 0o600)
		return errors.New("qemu-img convert: simulated failure")
	}
	for _, pct := range f.progress {
		progress(pct)
	}
	content := src + " " + strings.Join(options, " ")
	f.mu.Lock()
	f.converted[filepath.Base(dst)] = content
	f.mu.Unlock()
	return os.WriteFile(dst, []byte(content), 0o600)
}

func (f *fakeImageTool) DataBytes(context.Context, string) (int64, error) { return 0, nil }

func newFakeImageTool() *fakeImageTool {
	return &fakeImageTool{infos: map[string]*qemuimg.Info{}, converted: map[string]string{}}
}

func sha256Of(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func fakeExporter(tool imageTool, source string, size int64, ui packersdk.Ui) exporter {
	return exporter{QemuImg: tool, UI: ui, Source: source, SourceInfo: &qemuimg.Info{Format: "qcow2", VirtualSize: size},
		Parallel: 2, Checksum: "sha256", Perm: 0o644}
}

// Each target is converted with its format's options, from the source
// read in the format it was checked as (never probed again), renamed into
// place, and listed with its own digest in SHA256SUMS; no work file
// remains.
func TestExporter_convertsEachTargetAndListsItsDigest(t *testing.T) {
	dir := t.TempDir()
	tool := newFakeImageTool()
	plans := []plannedOutput{
		{Target: Target{Format: "vhdx", Compression: "none"}, Path: filepath.Join(dir, "out.vhdx")},
		{Target: Target{Format: "qcow2", Compression: "zstd"}, Path: filepath.Join(dir, "out.qcow2")},
	}
	e := fakeExporter(tool, "/images/in.qcow2", 1<<30, packersdk.TestUi(t))
	outputs, sumFile, err := e.run(context.Background(), plans, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"out.vhdx":  "/images/in.qcow2 -f qcow2 -O vhdx -o subformat=dynamic,block_size=1M",
		"out.qcow2": "/images/in.qcow2 -f qcow2 -O qcow2 -c -o compression_type=zstd",
	}
	for name, content := range want {
		if tool.converted[name] != content {
			t.Errorf("%s converted as %q, want %q", name, tool.converted[name], content)
		}
	}
	sums, _ := os.ReadFile(sumFile)
	wantSums := sha256Of(want["out.qcow2"]) + "  out.qcow2\n" + sha256Of(want["out.vhdx"]) + "  out.vhdx\n"
	if string(sums) != wantSums {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", sums, wantSums)
	}
	for _, o := range outputs {
		if o.SHA256 != sha256Of(want[filepath.Base(o.Path)]) {
			t.Errorf("%s: SHA256 %s", o.Path, o.SHA256)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the output directory holds %d entries, want the two outputs and SHA256SUMS: %v", len(entries), entries)
	}
}

// exportFailingOnVDI exports one target of each format to dir, one at a
// time, with qemu-img failing on the VDI, and checks that the error names
// that target with qemu-img's reason.
func exportFailingOnVDI(t *testing.T, dir string, formats ...string) *fakeImageTool {
	t.Helper()
	tool := newFakeImageTool()
	tool.failOn = ".vdi"
	var plans []plannedOutput
	for _, f := range formats {
		plans = append(plans, plannedOutput{Target: Target{Format: f, Compression: "none"}, Path: filepath.Join(dir, "out."+f)})
	}
	e := fakeExporter(tool, "/images/in.qcow2", 1<<30, packersdk.TestUi(t))
	e.Parallel = 1
	_, _, err := e.run(context.Background(), plans, dir)
	if err == nil || !strings.Contains(err.Error(), "out.vdi: qemu-img convert: simulated failure") {
		t.Fatalf("error %v, want the failed target named with qemu-img's reason", err)
	}
	return tool
}

// A failed target takes the finished ones with it: an export is whole or
// absent, and it leaves no work files.
func TestExporter_oneFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	exportFailingOnVDI(t, dir, "raw", "vdi")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed export left %v", entries)
	}
}

// Azure's fixed VHD takes whole MiB only: a disk of another size is grown
// through an overlay of the next whole MiB, and the overlay is converted.
func TestExporter_fixedVHDGrowsToAWholeMiB(t *testing.T) {
	dir := t.TempDir()
	tool := newFakeImageTool()
	plans := []plannedOutput{{Target: Target{Format: "vhd", Fixed: true, Compression: "none"}, Path: filepath.Join(dir, "out.vhd")}}
	e := fakeExporter(tool, "/images/in.qcow2", 5<<20+1, packersdk.TestUi(t))
	if _, _, err := e.run(context.Background(), plans, dir); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/images/in.qcow2 qcow2 6291456"}; fmt.Sprint(tool.overlays) != fmt.Sprint(want) {
		t.Errorf("overlays %v, want %v", tool.overlays, want)
	}
	got := tool.converted["out.vhd"]
	if !strings.Contains(got, ".vhd-grow-") || !strings.Contains(got, " -f qcow2 ") || !strings.HasSuffix(got, "-O vpc -o subformat=fixed,force_size=on") {
		t.Errorf("converted as %q, want the grown overlay as a fixed VHD", got)
	}
}

// Progress is reported every 10%, once each.
func TestExporter_reportsProgressByTens(t *testing.T) {
	dir := t.TempDir()
	tool := newFakeImageTool()
	tool.progress = []int{3, 12, 18, 55, 99, 100}
	var out bytes.Buffer
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: &out, ErrorWriter: &out}
	plans := []plannedOutput{{Target: Target{Format: "raw", Compression: "none"}, Path: filepath.Join(dir, "out.raw")}}
	e := fakeExporter(tool, "/images/in.qcow2", 1<<30, ui)
	if _, _, err := e.run(context.Background(), plans, dir); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "out.raw: ") {
			got = append(got, strings.TrimPrefix(line, "out.raw: "))
		}
	}
	if want := "[10% 50% 90% 100%]"; fmt.Sprint(got) != want {
		t.Errorf("progress %v, want %s", got, want)
	}
}

// The input is the first file qemu-img reads as an image format; files it
// cannot read are passed over.
func TestFindDiskImage_takesTheFirstImageQemuImgRecognizes(t *testing.T) {
	dir := t.TempDir()
	notes, disk := filepath.Join(dir, "README"), filepath.Join(dir, "disk.qcow2")
	for _, f := range []string{notes, disk} {
		os.WriteFile(f, []byte("x"), 0o644)
	}
	tool := newFakeImageTool()
	tool.infos[disk] = &qemuimg.Info{Format: "qcow2", VirtualSize: 1 << 30}
	got, info, err := findDiskImage(context.Background(), tool, []string{notes, disk})
	if err != nil || got != disk || info.VirtualSize != 1<<30 {
		t.Fatalf("got %s %+v %v, want %s", got, info, err, disk)
	}
	if _, _, err := findDiskImage(context.Background(), tool, []string{notes}); err == nil || !strings.Contains(err.Error(), "no disk image that qemu-img can read") {
		t.Errorf("error %v, want no disk image", err)
	}
}

// The first failure cancels the targets still waiting for their turn:
// with one at a time, the target after a failed one is never converted.
func TestExporter_aFailureCancelsTheWaitingTargets(t *testing.T) {
	tool := exportFailingOnVDI(t, t.TempDir(), "vdi", "raw")
	if _, ok := tool.converted["out.raw"]; ok {
		t.Error("the target waiting behind the failed one was still converted")
	}
}

// qemu-img writes a monolithicSparse VMDK; a streamOptimized one is the
// plugin's own writer's, qemu-img only giving it the source as raw data.
func TestExporter_qemuImgWritesOnlyTheSparseVMDK(t *testing.T) {
	dir := t.TempDir()
	tool := newFakeImageTool()
	plans := []plannedOutput{
		{Target: Target{Format: "vmdk", Subformat: "monolithicSparse", Compression: "none"}, Path: filepath.Join(dir, "sparse.vmdk")},
		{Target: Target{Format: "vmdk", Subformat: "streamOptimized", Compression: "none"}, Path: filepath.Join(dir, "stream.vmdk")},
	}
	e := fakeExporter(tool, "/images/in.qcow2", 1<<30, packersdk.TestUi(t))
	if _, _, err := e.run(context.Background(), plans, dir); err != nil {
		t.Fatal(err)
	}
	if got, want := tool.converted["sparse.vmdk"], "/images/in.qcow2 -f qcow2 -O vmdk -o subformat=monolithicSparse"; got != want {
		t.Errorf("sparse.vmdk converted as %q, want %q", got, want)
	}
	if len(tool.converted) != 2 {
		t.Fatalf("qemu-img converted %v, want the sparse VMDK and the stream VMDK's raw copy", tool.converted)
	}
	for name, how := range tool.converted {
		if name != "sparse.vmdk" && (!strings.HasSuffix(name, ".raw") || !strings.HasSuffix(how, " -O raw")) {
			t.Errorf("qemu-img wrote %s as %q, want only a raw copy for the stream VMDK", name, how)
		}
	}
	stream, err := os.ReadFile(filepath.Join(dir, "stream.vmdk"))
	if err != nil || !bytes.Contains(stream, []byte(`createType="streamOptimized"`)) {
		t.Errorf("stream.vmdk is not the plugin's streamOptimized VMDK (%v)", err)
	}
}
