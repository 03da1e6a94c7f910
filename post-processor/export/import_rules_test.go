package export

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/klauspost/compress/gzip"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskid"
	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// The platforms' import rules (docs/post-processors/export.mdx, "Import
// rules") asserted on the bytes of each output, read here by hand rather
// than through qemu-img.
func TestPostProcess_outputsMeetThePlatformImportRules(t *testing.T) {
	img := testImage(t) // 20 MiB + 512 bytes: neither a whole MiB nor a whole GiB
	virtual := int64(20<<20 + 512)
	out := t.TempDir()
	p := configure(t, map[string]interface{}{
		"output_directory": out,
		"target": []map[string]interface{}{
			{"format": "vmdk"}, {"format": "vhdx"}, {"format": "vdi"}, {"format": "gce"},
			{"format": "vhd", "fixed": true, "name": "azure"}, {"format": "vhd", "name": "dynamic"},
		},
	})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: io.Discard, ErrorWriter: io.Discard}
	if _, _, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{img}}); err != nil {
		t.Fatal(err)
	}
	t.Run("vmdk", func(t *testing.T) { checkStreamOptimizedVMDK(t, filepath.Join(out, "base.vmdk"), virtual) })
	t.Run("vhdx", func(t *testing.T) { checkLinuxVHDX(t, filepath.Join(out, "base.vhdx"), virtual) })
	t.Run("vdi", func(t *testing.T) { checkVDI(t, filepath.Join(out, "base.vdi"), virtual) })
	t.Run("gce", func(t *testing.T) { checkGCETarball(t, filepath.Join(out, "base.tar.gz"), virtual) })
	t.Run("vhd fixed", func(t *testing.T) {
		footer := checkVHDFooter(t, filepath.Join(out, "azure.vhd"), 2)
		size := int64(binary.BigEndian.Uint64(footer[48:]))
		if size%(1<<20) != 0 || size < virtual || size-virtual >= 1<<20 {
			t.Errorf("Azure: virtual size %d is not the source's %d rounded up to a whole MiB", size, virtual)
		}
		if st, _ := os.Stat(filepath.Join(out, "azure.vhd")); st.Size() != size+512 {
			t.Errorf("Azure: a fixed VHD is its data plus a 512-byte footer; %d bytes for %d", st.Size(), size)
		}
		if d := binary.BigEndian.Uint64(footer[16:]); d != ^uint64(0) {
			t.Errorf("fixed VHD data offset %#x, want 0xFFFFFFFFFFFFFFFF", d)
		}
	})
	t.Run("vhd dynamic", func(t *testing.T) {
		path := filepath.Join(out, "dynamic.vhd")
		footer := checkVHDFooter(t, path, 3)
		head := readAt(t, path, 0, 512+1024)
		if !bytes.Equal(head[:512], footer) {
			t.Error("a dynamic VHD starts with a copy of its footer")
		}
		offset := binary.BigEndian.Uint64(footer[16:])
		if offset != 512 || string(head[512:520]) != "cxsparse" {
			t.Errorf("dynamic disk header at %d: cookie %q, want cxsparse", offset, head[512:520])
		}
		if size := int64(binary.BigEndian.Uint64(footer[48:])); size != virtual {
			t.Errorf("current size %d, want the source's %d (force_size)", size, virtual)
		}
	})
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if off < 0 {
		st, _ := f.Stat()
		off += st.Size()
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		t.Fatalf("reading %d bytes at %d of %s: %v", n, off, path, err)
	}
	return buf
}

// checkVHDFooter reads the VHD footer (Microsoft's VHD specification: the
// last 512 bytes, big-endian) and checks the fields every importer reads.
func checkVHDFooter(t *testing.T, path string, diskType uint32) []byte {
	t.Helper()
	f := readAt(t, path, -512, 512)
	if string(f[:8]) != "conectix" {
		t.Fatalf("footer cookie %q, want conectix", f[:8])
	}
	if features := binary.BigEndian.Uint32(f[8:]); features&2 == 0 {
		t.Errorf("features %#x lack the reserved bit 0x2", features)
	}
	if v := binary.BigEndian.Uint32(f[12:]); v != 0x00010000 {
		t.Errorf("file format version %#x, want 0x00010000", v)
	}
	if got := binary.BigEndian.Uint32(f[60:]); got != diskType {
		t.Errorf("disk type %d, want %d", got, diskType)
	}
	var sum uint32
	for i, b := range f[:85] {
		if i < 64 || i >= 68 {
			sum += uint32(b)
		}
	}
	if want := ^sum; binary.BigEndian.Uint32(f[64:]) != want {
		t.Errorf("footer checksum %#x, want %#x", binary.BigEndian.Uint32(f[64:]), want)
	}
	return f
}

// checkStreamOptimizedVMDK reads the sparse extent header (VMware's
// Virtual Disk Format 5.0, little-endian) and the embedded descriptor.
func checkStreamOptimizedVMDK(t *testing.T, path string, virtual int64) {
	h := readAt(t, path, 0, 512)
	le := binary.LittleEndian
	if string(h[:4]) != "KDMV" {
		t.Fatalf("magic %q, want KDMV", h[:4])
	}
	if v := le.Uint32(h[4:]); v != 3 {
		t.Errorf("version %d, want 3 (stream-optimized)", v)
	}
	const newlineTest, compressed, markers = 1 << 0, 1 << 16, 1 << 17
	if flags := le.Uint32(h[8:]); flags&(newlineTest|compressed|markers) != newlineTest|compressed|markers {
		t.Errorf("flags %#x lack valid-newline-test, compressed grains or markers", flags)
	}
	if capacity := int64(le.Uint64(h[12:])); capacity*512 < virtual {
		t.Errorf("capacity %d sectors is smaller than %d bytes", capacity, virtual)
	}
	if grain := le.Uint64(h[20:]); grain != 128 {
		t.Errorf("grain size %d sectors, want 128 (64 KiB)", grain)
	}
	// A stream either announces its grain directory at the end (GD_AT_END,
	// then a footer and an end-of-stream marker close it) or, as qemu-img
	// writes it, places the directory up front in the header's overhead.
	size := fileSize(t, path)
	if gd := le.Uint64(h[56:]); gd == ^uint64(0) {
		footer := readAt(t, path, -1024, 512)
		if string(footer[:4]) != "KDMV" || le.Uint64(footer[56:]) == ^uint64(0) {
			t.Errorf("GD_AT_END without a footer holding the grain directory's offset")
		}
		if eos := readAt(t, path, -512, 512); !bytes.Equal(eos, make([]byte, 512)) {
			t.Errorf("GD_AT_END stream without an end-of-stream marker")
		}
	} else if overhead := le.Uint64(h[64:]); gd == 0 || gd >= overhead || int64(overhead)*512 > size {
		t.Errorf("grain directory at sector %d is not inside the %d-sector overhead of a %d-byte file", gd, overhead, size)
	}
	if string(h[73:77]) != "\n \r\n" {
		t.Errorf("newline detection characters %q", h[73:77])
	}
	if alg := le.Uint16(h[77:]); alg != 1 {
		t.Errorf("compress algorithm %d, want 1 (deflate)", alg)
	}
	descOffset, descSize := int64(le.Uint64(h[28:]))*512, int(le.Uint64(h[36:]))*512
	desc := string(bytes.TrimRight(readAt(t, path, descOffset, descSize), "\x00"))
	for _, re := range []string{
		`(?m)^createType="streamOptimized"$`,
		`(?m)^RW \d+ SPARSE "` + regexp.QuoteMeta(filepath.Base(path)) + `"$`,
		`(?m)^ddb\.adapterType = "lsilogic"$`,
		`(?m)^ddb\.virtualHWVersion = "\d+"$`,
	} {
		if !regexp.MustCompile(re).MatchString(desc) {
			t.Errorf("descriptor lacks %s:\n%s", re, desc)
		}
	}
}

// MS-GUIDs are stored with their first three fields little-endian.
func msGUID(s string) []byte {
	var d1 uint32
	var d2, d3 uint16
	var d4 [8]byte
	fmt.Sscanf(s, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", &d1, &d2, &d3, &d4[0], &d4[1], &d4[2], &d4[3], &d4[4], &d4[5], &d4[6], &d4[7])
	b := binary.LittleEndian.AppendUint32(nil, d1)
	b = binary.LittleEndian.AppendUint16(b, d2)
	b = binary.LittleEndian.AppendUint16(b, d3)
	return append(b, d4[:]...)
}

// checkLinuxVHDX walks the VHDX region table to the metadata region
// (Microsoft's VHDX Format Specification 1.0) and checks the block size
// Microsoft recommends for Linux guests, 1 MiB.
func checkLinuxVHDX(t *testing.T, path string, virtual int64) {
	le := binary.LittleEndian
	if id := readAt(t, path, 0, 8); string(id) != "vhdxfile" {
		t.Fatalf("file type identifier %q, want vhdxfile", id)
	}
	for _, off := range []int64{64 << 10, 128 << 10} {
		if h := readAt(t, path, off, 4); string(h) != "head" {
			t.Errorf("header at %d: signature %q, want head", off, h)
		}
	}
	regions := readAt(t, path, 192<<10, 64<<10)
	if string(regions[:4]) != "regi" {
		t.Fatalf("region table signature %q", regions[:4])
	}
	var metaOffset int64 = -1
	for i := 0; i < int(le.Uint32(regions[8:])); i++ {
		e := regions[16+32*i:]
		if bytes.Equal(e[:16], msGUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")) {
			metaOffset = int64(le.Uint64(e[16:]))
		}
	}
	if metaOffset < 0 {
		t.Fatal("no metadata region")
	}
	meta := readAt(t, path, metaOffset, 64<<10)
	if string(meta[:8]) != "metadata" {
		t.Fatalf("metadata table signature %q", meta[:8])
	}
	item := func(guid string) []byte {
		for i := 0; i < int(le.Uint16(meta[10:])); i++ {
			e := meta[32+32*i:]
			if bytes.Equal(e[:16], msGUID(guid)) {
				return readAt(t, path, metaOffset+int64(le.Uint32(e[16:])), int(le.Uint32(e[20:])))
			}
		}
		t.Fatalf("metadata item %s missing", guid)
		return nil
	}
	params := item("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
	if bs := le.Uint32(params); bs != 1<<20 {
		t.Errorf("block size %d, want 1 MiB (Microsoft's guidance for Linux guests)", bs)
	}
	if flags := le.Uint32(params[4:]); flags&1 != 0 || flags&2 != 0 {
		t.Errorf("file parameter flags %#x: want a dynamic disk without parent", flags)
	}
	size := int64(le.Uint64(item("2FA54224-CD1B-4876-B211-5DBED83BF4B8")))
	sector := int64(le.Uint32(item("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")))
	if sector != 512 && sector != 4096 {
		t.Errorf("logical sector size %d, want 512 or 4096", sector)
	}
	if size < virtual || size%sector != 0 {
		t.Errorf("virtual disk size %d: not at least %d and a whole number of %d-byte sectors", size, virtual, sector)
	}
}

// checkVDI checks the header fields VirtualBox validates on open
// (vdiValidateHeader in VirtualBox's VDI.cpp).
func checkVDI(t *testing.T, path string, virtual int64) {
	h := readAt(t, path, 0, 512)
	le := binary.LittleEndian
	if !strings.HasPrefix(string(h[:64]), "<<< ") {
		t.Errorf("pre-header text %q", bytes.TrimRight(h[:64], "\x00"))
	}
	if sig := le.Uint32(h[64:]); sig != 0xbeda107f {
		t.Fatalf("signature %#x, want 0xbeda107f", sig)
	}
	if v := le.Uint32(h[68:]); v>>16 != 1 {
		t.Errorf("version %#x, want major 1", v)
	}
	const preHeader, header1 = 72, 384
	if hs := le.Uint32(h[72:]); hs < header1 {
		t.Errorf("header size %d < %d", hs, header1)
	}
	if typ := le.Uint32(h[76:]); typ != 1 {
		t.Errorf("image type %d, want 1 (dynamic)", typ)
	}
	if flags := le.Uint32(h[80:]); flags != 0 {
		t.Errorf("image flags %#x", flags)
	}
	offBlocks, offData := le.Uint32(h[340:]), le.Uint32(h[344:])
	diskSize, blockSize, blocks := int64(le.Uint64(h[368:])), int64(le.Uint32(h[376:])), int64(le.Uint32(h[384:]))
	if offBlocks < preHeader+header1 || int64(offData) < int64(offBlocks)+4*blocks {
		t.Errorf("block map at %d and data at %d overlap the header or %d block pointers", offBlocks, offData, blocks)
	}
	if sector := le.Uint32(h[360:]); sector != 512 {
		t.Errorf("sector size %d, want 512", sector)
	}
	if diskSize != virtual {
		t.Errorf("disk size %d, want %d", diskSize, virtual)
	}
	if blockSize <= 0 || blockSize&(blockSize-1) != 0 || blockSize*blocks < diskSize {
		t.Errorf("%d blocks of %d bytes do not cover %d bytes", blocks, blockSize, diskSize)
	}
	if allocated := int64(le.Uint32(h[388:])); allocated > blocks {
		t.Errorf("%d blocks allocated of %d", allocated, blocks)
	}
	zero := make([]byte, 16)
	if bytes.Equal(h[392:408], zero) || bytes.Equal(h[408:424], zero) {
		t.Error("creation or modification UUID is zero")
	}
}

// checkGCETarball checks Compute Engine's manual import rules: a gzip'd
// tar in GNU (oldgnu) format holding only disk.raw, a partitioned disk
// whose size is a whole number of GiB.
func checkGCETarball(t *testing.T, path string, virtual int64) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	var first bytes.Buffer
	tr := tar.NewReader(io.TeeReader(gz, &first))
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	block := first.Bytes()[:512]
	if name := string(bytes.TrimRight(block[:100], "\x00")); name != "disk.raw" {
		t.Errorf("member name %q, want disk.raw", name)
	}
	if magic := string(block[257:265]); magic != "ustar  \x00" {
		t.Errorf("tar magic %q, want the GNU (oldgnu) magic \"ustar  \\x00\"", magic)
	}
	if block[156] != 'S' {
		t.Errorf("type flag %q, want 'S', a GNU sparse regular file", block[156])
	}
	if hdr.Size%(1<<30) != 0 || hdr.Size < virtual {
		t.Errorf("disk.raw is %d bytes: not a whole number of GiB at least %d", hdr.Size, virtual)
	}
	sector := make([]byte, 512)
	if _, err := io.ReadFull(tr, sector); err != nil || sector[510] != 0x55 || sector[511] != 0xAA {
		t.Errorf("disk.raw has no MBR or protective-MBR boot signature (%v)", err)
	}
	if _, err := io.Copy(io.Discard, tr); err != nil {
		t.Fatal(err)
	}
	if next, err := tr.Next(); err != io.EOF {
		t.Errorf("the tarball holds more than disk.raw: %v %v", next, err)
	}
	// GNU tar, the tool Google's instructions use, reads it the same way.
	if _, err := exec.LookPath("tar"); err == nil {
		list, err := exec.Command("tar", "--list", "--verbose", "--gzip", "--file", path).CombinedOutput()
		if err != nil || !regexp.MustCompile(fmt.Sprintf(`(?m) %d .* disk\.raw$`, hdr.Size)).Match(list) {
			t.Errorf("GNU tar lists %q (%v)", list, err)
		}
	}
}

// Many extents spill the sparse map into extension blocks; both Go's and
// GNU tar's readers must restore the file byte for byte.
func TestWriteGCETarball_sparseMapWithExtensions(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	f, _ := os.Create(raw)
	f.Truncate(8 << 20)
	for i := int64(0); i < 40; i++ {
		f.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, 4096), i*128<<10)
	}
	f.Close()
	extents, err := fileutil.DataExtents(mustOpen(t, raw), 8<<20)
	if err != nil || len(extents) < sparseInHeader+sparseInExtension+1 {
		t.Skipf("the file system does not report holes (%d extents, %v)", len(extents), err)
	}
	tgz := filepath.Join(dir, "disk.tar.gz")
	os.WriteFile(tgz, nil, 0o600)
	if _, err := writeGCETarball(context.Background(), raw, tgz, diskid.FixedTime, false); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(raw)
	gz, err := gzip.NewReader(mustOpen(t, tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	if hdr, err := tr.Next(); err != nil || hdr.Size != 8<<20 {
		t.Fatalf("%+v %v", hdr, err)
	}
	if got, err := io.ReadAll(tr); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Go's tar restores %d different bytes (%v)", len(got), err)
	}
	if _, err := exec.LookPath("tar"); err != nil {
		return
	}
	x := filepath.Join(dir, "x")
	os.Mkdir(x, 0o755)
	if out, err := exec.Command("tar", "-xzf", tgz, "-C", x).CombinedOutput(); err != nil {
		t.Fatalf("GNU tar: %v %s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(x, "disk.raw")); !bytes.Equal(got, want) {
		t.Fatal("GNU tar restores a different disk.raw")
	}
}

func TestPutNumeric_usesBase256BeyondOctal(t *testing.T) {
	field := make([]byte, 12)
	putNumeric(field, 0o777)
	if string(field) != "00000000777\x00" {
		t.Errorf("octal field %q", field)
	}
	putNumeric(field, 10<<30) // 10 GiB does not fit 11 octal digits
	if field[0] != 0x80 || binary.BigEndian.Uint64(field[4:]) != 10<<30 {
		t.Errorf("base-256 field %x", field)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
