package qemuimg

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/hostileimage"
)

func qemuImgCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("qemu-img", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// wantRefused checks that the image is refused for a reason naming want.
func wantRefused(t *testing.T, info *Info, err error, want string) {
	t.Helper()
	var nsc *NotSelfContainedError
	if !errors.As(err, &nsc) {
		t.Fatalf("got %+v, %v; want it refused as not self-contained (%s)", info, err, want)
	}
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "not a self-contained image") {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestSelfContained_refusesImagesThatNameOtherFiles(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	secret := hostileimage.Secret(t)
	dir := t.TempDir()

	t.Run("qcow2 backing file", func(t *testing.T) {
		evil := filepath.Join(dir, "evil.qcow2")
		qemuImgCmd(t, dir, "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", evil)
		info, err := SelfContained(ctx, r, evil, "")
		wantRefused(t, info, err, "backing file "+secret)
		info, err = SelfContained(ctx, r, evil, "qcow2")
		wantRefused(t, info, err, "backing file "+secret)
	})
	t.Run("relative backing file", func(t *testing.T) {
		evil := filepath.Join(dir, "relative.qcow2")
		rel, _ := filepath.Rel(dir, secret)
		qemuImgCmd(t, dir, "create", "-q", "-f", "qcow2", "-b", rel, "-F", "raw", "-u", evil, "1M")
		info, err := SelfContained(ctx, r, evil, "")
		wantRefused(t, info, err, "backing file "+rel)
	})
	t.Run("qcow2 external data file", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data.raw")
		evil := filepath.Join(dir, "datafile.qcow2")
		qemuImgCmd(t, dir, "create", "-q", "-f", "qcow2", "-o", "data_file="+data+",data_file_raw=on", evil, "1M")
		info, err := SelfContained(ctx, r, evil, "")
		wantRefused(t, info, err, "external data file "+data)
	})
	t.Run("vmdk extent elsewhere", func(t *testing.T) {
		flat := filepath.Join(dir, "flat.vmdk")
		qemuImgCmd(t, dir, "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", flat, "1M")
		// Even qemu-img's own flat extent is another file.
		info, err := SelfContained(ctx, r, flat, "")
		wantRefused(t, info, err, "VMDK extent "+filepath.Join(dir, "flat-flat.vmdk"))
		desc, err := os.ReadFile(flat)
		if err != nil {
			t.Fatal(err)
		}
		evil := filepath.Join(dir, "extent.vmdk")
		edited := strings.Replace(string(desc), `"flat-flat.vmdk"`, `"`+secret+`"`, 1)
		if edited == string(desc) {
			t.Fatalf("no extent line to edit in\n%s", desc)
		}
		if err := os.WriteFile(evil, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		info, err = SelfContained(ctx, r, evil, "vmdk")
		wantRefused(t, info, err, "VMDK extent "+secret)
	})
	t.Run("json backing file", func(t *testing.T) {
		evil := filepath.Join(dir, "jsonbacking.qcow2")
		spec := `json:{"driver":"raw","file":{"driver":"file","filename":"` + secret + `"}}`
		qemuImgCmd(t, dir, "create", "-q", "-f", "qcow2", "-b", spec, "-F", "raw", evil)
		info, err := SelfContained(ctx, r, evil, "")
		wantRefused(t, info, err, "backing file json:")
	})
	t.Run("vmdk parent", func(t *testing.T) {
		parent := filepath.Join(dir, "parent.vmdk")
		qemuImgCmd(t, dir, "create", "-q", "-f", "vmdk", parent, "1M")
		child := filepath.Join(dir, "child.vmdk")
		qemuImgCmd(t, dir, "create", "-q", "-f", "vmdk", "-b", parent, "-F", "vmdk", child)
		info, err := SelfContained(ctx, r, child, "")
		wantRefused(t, info, err, "backing file")
	})
}

// A file named json:{...} in the working directory, given by a relative
// path, is read as that file: qemu-img would otherwise open the block
// graph the name describes (here, the secret as a raw disk).
func TestSelfContained_aFileNamedJSONIsReadAsAFile(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	dir := filepath.Dir(hostileimage.Secret(t))
	// The name describes the secret, beside it, as a raw disk.
	name := `json:{"driver":"raw","file":{"driver":"file","filename":"shadow"}}`
	qemuImgCmd(t, dir, "create", "-q", "-f", "qcow2", "./"+name, "64M")
	t.Chdir(dir)
	info, err := SelfContained(ctx, r, name, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" || info.VirtualSize != 64<<20 || info.Filename != filepath.Join(dir, name) {
		t.Errorf("read %+v, want the 64 MiB qcow2 file itself", info)
	}
	info, err = r.Info(ctx, name)
	if err != nil || info.Format != "qcow2" || info.VirtualSize != 64<<20 {
		t.Errorf("Info of a relative json: file name: %+v %v, want the qcow2 file itself", info, err)
	}
}

// A json: filename reported by qemu-img is refused whatever else it says.
func TestSelfContained_refusesAJSONFilename(t *testing.T) {
	fake := inspectorFunc(func(_ context.Context, path, format string) (*Info, error) {
		return &Info{Filename: `json:{"driver":"raw","file":{"filename":"/etc/shadow"}}`, Format: "raw"}, nil
	})
	info, err := SelfContained(context.Background(), fake, "/images/in.raw", "raw")
	wantRefused(t, info, err, "json: pseudo-filename")
}

func TestSelfContained_acceptsStandaloneImagesAndKeepsTheGivenFormat(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct{ format, opts string }{
		{"qcow2", ""}, {"raw", ""}, {"vmdk", "subformat=monolithicSparse"}, {"vmdk", "subformat=streamOptimized"},
		{"vdi", ""}, {"vhdx", ""}, {"vpc", ""},
	} {
		path := filepath.Join(dir, c.format+strings.TrimPrefix(c.opts, "subformat=")+".img")
		args := []string{"create", "-q", "-f", c.format}
		if c.opts != "" {
			args = append(args, "-o", c.opts)
		}
		qemuImgCmd(t, dir, append(args, path, "4M")...)
		info, err := SelfContained(ctx, r, path, "")
		if err != nil || info.Format != c.format {
			t.Errorf("%s %s: %+v %v, want accepted", c.format, c.opts, info, err)
		}
	}
	// A raw disk whose first bytes are a qcow2 header naming a host file
	// (what a guest can write to its raw disk): read as raw, as the
	// caller knows it is, it is self-contained raw data; probed, refused.
	secret := hostileimage.Secret(t)
	evil := filepath.Join(dir, "guest-written.raw")
	qemuImgCmd(t, dir, "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", evil)
	if info, err := SelfContained(ctx, r, evil, "raw"); err != nil || info.Format != "raw" || info.BackingFile != "" {
		t.Errorf("read as raw: %+v %v, want raw data without backing file", info, err)
	}
	info, err := SelfContained(ctx, r, evil, "")
	wantRefused(t, info, err, "backing file "+secret)
}

func TestOverlayOf_acceptsOnlyTheExpectedSelfContainedBacking(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.qcow2")
	qemuImgCmd(t, dir, "create", "-q", "-f", "qcow2", base, "8M")
	overlay := filepath.Join(dir, "overlay.qcow2")
	if err := r.CreateOverlay(ctx, base, "qcow2", overlay, 0); err != nil {
		t.Fatal(err)
	}
	info, err := OverlayOf(ctx, r, overlay, base)
	if err != nil || info.FullBackingFile != base || info.VirtualSize != 8<<20 {
		t.Fatalf("overlay of the expected base: %+v %v", info, err)
	}
	if _, err := SelfContained(ctx, r, overlay, "qcow2"); err == nil {
		t.Error("an overlay passed as self-contained")
	}

	// Another backing file than the expected one.
	secret := hostileimage.Secret(t)
	evil := filepath.Join(dir, "evil.qcow2")
	qemuImgCmd(t, dir, "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", evil)
	info, err = OverlayOf(ctx, r, evil, base)
	wantRefused(t, info, err, "backing file "+secret)

	// The expected backing file, itself backed by a host file.
	chained := filepath.Join(dir, "chained.qcow2")
	if err := r.CreateOverlay(ctx, evil, "qcow2", chained, 0); err != nil {
		t.Fatal(err)
	}
	info, err = OverlayOf(ctx, r, chained, evil)
	wantRefused(t, info, err, "backing file "+secret)
	if err != nil && !strings.Contains(err.Error(), "the backing file of "+chained) {
		t.Errorf("error %q does not name the overlay", err)
	}

	// A standalone image where an overlay was expected.
	info, err = OverlayOf(ctx, r, base, base)
	wantRefused(t, info, err, "no backing file")
}

type inspectorFunc func(ctx context.Context, path, format string) (*Info, error)

func (f inspectorFunc) InfoAs(ctx context.Context, path, format string) (*Info, error) {
	return f(ctx, path, format)
}

// FuzzParseInfo: whatever qemu-img (or a file posing as its output)
// prints, parsing does not panic, and an image that names a backing file,
// an external data file, a foreign extent or a json: filename is never
// taken as self-contained.
func FuzzParseInfo(f *testing.F) {
	for _, seed := range []string{
		`{"filename":"/i/a.qcow2","format":"qcow2","virtual-size":1048576}`,
		`{"filename":"/i/a.qcow2","format":"qcow2","backing-filename":"/etc/shadow","full-backing-filename":"/etc/shadow","backing-filename-format":"raw"}`,
		`{"filename":"/i/a.qcow2","format":"qcow2","format-specific":{"type":"qcow2","data":{"data-file":"/etc/shadow","data-file-raw":true}}}`,
		`{"filename":"/i/a.vmdk","format":"vmdk","format-specific":{"type":"vmdk","data":{"extents":[{"filename":"/etc/shadow","format":"FLAT"}]}}}`,
		`{"filename":"/i/a.vmdk","format":"vmdk","format-specific":{"type":"vmdk","data":{"extents":[{"filename":"a.vmdk"}]}}}`,
		`{"filename":"json:{\"driver\":\"raw\"}","format":"raw"}`,
		`{"format-specific":null}`, `[]`, `null`, `{"format-specific":{"data":{"extents":[null]}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseInfo(data)
		if err != nil {
			return
		}
		refs := info.References("/i/a.img")
		foreign := info.BackingFile != "" || info.FullBackingFile != "" || strings.HasPrefix(info.Filename, "json:")
		if fs := info.FormatSpecific; fs != nil {
			foreign = foreign || fs.Data.DataFile != ""
			for _, x := range fs.Data.Extents {
				foreign = foreign || !sameFile(x.Filename, "/i/a.img")
			}
		}
		if foreign && len(refs) == 0 {
			t.Fatalf("%+v names other files but has no references", info)
		}
		if len(refs) == 0 {
			if _, err := SelfContained(context.Background(), inspectorFunc(func(context.Context, string, string) (*Info, error) {
				return info, nil
			}), "/i/a.img", ""); err != nil {
				t.Fatalf("References is empty but SelfContained refuses: %v", err)
			}
		}
	})
}
