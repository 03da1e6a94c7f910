package diskid

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDerive_isStableAndDistinct(t *testing.T) {
	a := Derive("seed", "disk.vhdx", "vhdx/page83")
	if a != Derive("seed", "disk.vhdx", "vhdx/page83") {
		t.Fatal("the same inputs gave two ids")
	}
	for _, other := range []UUID{Derive("seed2", "disk.vhdx", "vhdx/page83"), Derive("seed", "disk2.vhdx", "vhdx/page83"), Derive("seed", "disk.vhdx", "vhdx/file-write")} {
		if other == a {
			t.Errorf("%s repeats for other inputs", a)
		}
	}
	if a[6]>>4 != 8 || a[8]>>6 != 2 {
		t.Errorf("%s is not an RFC 9562 version 8 UUID", a)
	}
}

func TestTimestamp(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if got, _ := Timestamp(); !got.Equal(FixedTime) {
		t.Errorf("unset: %v", got)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if got, _ := Timestamp(); got.Unix() != 1700000000 {
		t.Errorf("1700000000: %v", got)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := Timestamp(); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("yesterday: %v", err)
	}
}

func qemuImg(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("qemu-img", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPatch_makesQemuImgOutputsIdentical converts one input twice per
// format (qemu-img draws new ids and times each run), patches both and
// expects identical files that qemu-img still checks and reads as the
// input.
func TestPatch_makesQemuImgOutputsIdentical(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "in.raw")
	data := bytes.Repeat([]byte("reproducible "), 1<<16)
	if err := os.WriteFile(raw, append(data, make([]byte, 5<<20-len(data))...), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := "sha256:0123"
	when := time.Unix(1700000000, 0)
	cases := []struct {
		name, format string
		opts         string
		patch        func(path string) error
	}{
		{"vhdx", "vhdx", "subformat=dynamic,block_size=1M", func(p string) error {
			return PatchVHDX(p, Derive(seed, "x", "fw"), Derive(seed, "x", "dw"), Derive(seed, "x", "id"))
		}},
		{"vdi", "vdi", "", func(p string) error { return PatchVDI(p, Derive(seed, "x", "c"), Derive(seed, "x", "m")) }},
		{"vhd-dynamic", "vpc", "subformat=dynamic,force_size=on", func(p string) error { return PatchVHD(p, Derive(seed, "x", "u"), when) }},
		{"vhd-fixed", "vpc", "subformat=fixed,force_size=on", func(p string) error { return PatchVHD(p, Derive(seed, "x", "u"), when) }},
		{"vmdk-monolithicSparse", "vmdk", "subformat=monolithicSparse", func(p string) error { return PatchVMDKCID(p, Derive32(seed, "x", "cid")) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var files [2]string
			for i := range files {
				files[i] = filepath.Join(t.TempDir(), "out")
				args := []string{"convert", "-f", "raw", "-O", c.format}
				if c.opts != "" {
					args = append(args, "-o", c.opts)
				}
				qemuImg(t, append(args, raw, files[i])...)
				if i == 0 {
					time.Sleep(1100 * time.Millisecond) // a new timestamp for vpc
				}
			}
			if sameFile(t, files[0], files[1]) {
				t.Fatal("qemu-img wrote identical files before patching: the test would prove nothing")
			}
			for _, f := range files {
				if err := c.patch(f); err != nil {
					t.Fatal(err)
				}
				qemuImg(t, "info", "-f", c.format, f)
				if c.format != "vpc" { // qemu-img checks no VHD
					qemuImg(t, "check", "-f", c.format, f)
				}
				qemuImg(t, "compare", "-f", "raw", "-F", c.format, raw, f)
			}
			if !sameFile(t, files[0], files[1]) {
				t.Fatal("the patched files differ")
			}
		})
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

func TestPatchVHD_checksumIsTheOnesComplementSum(t *testing.T) {
	out := filepath.Join(t.TempDir(), "d.vhd")
	qemuImg(t, "create", "-f", "vpc", "-o", "subformat=fixed,force_size=on", out, "1M")
	id := Derive("s", "t", "u")
	if err := PatchVHD(out, id, FixedTime.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	footer := b[len(b)-512:]
	var sum uint32
	for i, c := range footer {
		if i < vhdChecksumAt || i >= vhdChecksumAt+4 {
			sum += uint32(c)
		}
	}
	if got := binary.BigEndian.Uint32(footer[vhdChecksumAt:]); got != ^sum {
		t.Errorf("checksum %08x, want %08x", got, ^sum)
	}
	if binary.BigEndian.Uint32(footer[vhdTimestampAt:]) != 90 || !bytes.Equal(footer[vhdUniqueIDAt:vhdUniqueIDAt+16], id[:]) {
		t.Error("timestamp or unique id not written")
	}
}

func TestPatch_refusesOtherFormats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(path, make([]byte, 300<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	u := Derive("a", "b", "c")
	for name, err := range map[string]error{
		"vhd":  PatchVHD(path, u, FixedTime),
		"vdi":  PatchVDI(path, u, u),
		"vhdx": PatchVHDX(path, u, u, u),
		"vmdk": PatchVMDKCID(path, 1),
	} {
		if err == nil {
			t.Errorf("%s: zeros were patched", name)
		}
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, make([]byte, 300<<10)) {
		t.Error("a refused file was written")
	}
}
