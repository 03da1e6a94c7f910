package vmdk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	govmdk "github.com/vmware/govmomi/vmdk"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// piece is data written into the raw input at an offset.
type piece struct {
	offset int64
	data   []byte
}

func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// rawDisk writes a sparse raw disk of size bytes holding pieces.
func rawDisk(t *testing.T, size int64, pieces ...piece) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.raw")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for _, p := range pieces {
		if _, err := f.WriteAt(p.data, p.offset); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// export writes the raw disk as a VMDK through Write and returns its path.
func export(t *testing.T, raw string, o Options) string {
	t.Helper()
	in, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, _ := in.Stat()
	extents, err := fileutil.DataExtents(in, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if o.Capacity == 0 {
		o.Capacity = st.Size()
	}
	o.FileName = "out.vmdk"
	out := filepath.Join(t.TempDir(), "out.vmdk")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(context.Background(), f, in, extents, o); err != nil {
		t.Fatal(err)
	}
	return out
}

func qemuImg(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("qemu-img", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkReadsBack asserts that qemu-img finds the VMDK consistent, reads
// it as the raw input (zero-extended to whole sectors) and that govmomi's
// reader accepts its header and descriptor.
func checkReadsBack(t *testing.T, raw, vmdkPath string, capacity int64) {
	t.Helper()
	qemuImg(t, "check", "-f", "vmdk", vmdkPath)
	back := filepath.Join(t.TempDir(), "back.raw")
	qemuImg(t, "convert", "-f", "vmdk", "-O", "raw", vmdkPath, back)
	want, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	sectors := (capacity + 511) / 512
	want = append(want, make([]byte, sectors*512-int64(len(want)))...)
	got, err := os.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the VMDK reads back as %d bytes that differ from the %d input bytes", len(got), len(want))
	}
	info, err := govmdk.Stat(vmdkPath)
	if err != nil {
		t.Fatalf("govmomi cannot read the VMDK: %v", err)
	}
	if info.Capacity != sectors*512 {
		t.Errorf("govmomi reads a capacity of %d, want %d", info.Capacity, sectors*512)
	}
	f, err := os.Open(vmdkPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text := make([]byte, descriptorSectors*512)
	if _, err := f.ReadAt(text, 512); err != nil {
		t.Fatal(err)
	}
	d, err := govmdk.ParseDescriptor(bytes.NewReader(bytes.TrimRight(text, "\x00")))
	if err != nil {
		t.Fatalf("govmomi cannot parse the descriptor: %v", err)
	}
	// (govmomi v0.52 never reads createType: it compares a lowered key
	// with "createType"; the layout test checks that line.)
	if len(d.Extent) != 1 || d.Extent[0].Size != sectors || d.Extent[0].Info != "out.vmdk" || d.DDB["adapterType"] != "lsilogic" {
		t.Errorf("govmomi reads the descriptor as %+v", d)
	}
}

func TestWrite_readsBackWithQemuImgAndGovmomi(t *testing.T) {
	cases := map[string]struct {
		size   int64
		pieces []piece
	}{
		"data between holes":  {8 << 20, []piece{{0, randomBytes(1, 4096)}, {3<<20 + 100, randomBytes(2, 200000)}, {8<<20 - 10, randomBytes(3, 10)}}},
		"all zeros":           {4 << 20, nil},
		"written zeros":       {1 << 20, []piece{{0, make([]byte, 1<<20)}}},
		"partial last grain":  {grainBytes*3 + 4096, []piece{{grainBytes*3 + 100, randomBytes(4, 3000)}}},
		"partial last sector": {grainBytes + 700, []piece{{grainBytes + 600, randomBytes(5, 100)}}},
		"tiny":                {512, []piece{{0, randomBytes(6, 512)}}},
		// Three grain tables' worth (96 MiB), the middle one empty: its
		// table is left out and its directory entry stays 0.
		"empty grain table between full ones": {96 << 20, []piece{{100, randomBytes(7, 1<<20)}, {95 << 20, randomBytes(8, 1<<20)}}},
		"text that compresses":                {2 << 20, []piece{{0, bytes.Repeat([]byte("streamOptimized "), 1<<16)}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			raw := rawDisk(t, c.size, c.pieces...)
			out := export(t, raw, Options{Workers: 3})
			checkReadsBack(t, raw, out, c.size)
		})
	}
}

func TestWrite_isTheSameWhateverTheWorkers(t *testing.T) {
	raw := rawDisk(t, 40<<20, piece{0, randomBytes(1, 5<<20)}, piece{33 << 20, bytes.Repeat([]byte{7}, 3<<20)})
	one := fileSum(t, export(t, raw, Options{Workers: 1, CID: 0x1234abcd}))
	for _, workers := range []int{2, 8} {
		if got := fileSum(t, export(t, raw, Options{Workers: workers, CID: 0x1234abcd})); got != one {
			t.Errorf("%d workers wrote another file than 1 worker", workers)
		}
	}
}

func TestWrite_layoutFollowsTheSpecification(t *testing.T) {
	raw := rawDisk(t, 2<<20, piece{grainBytes, randomBytes(1, 100)})
	out := export(t, raw, Options{CID: 0xdeadbeef, AdapterType: "ide"})
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(b)%512 != 0 || le.Uint32(b) != 0x564d444b || le.Uint64(b[56:]) != gdAtEnd {
		t.Fatalf("header: magic %x, gdOffset %x, file of %d bytes", le.Uint32(b), le.Uint64(b[56:]), len(b))
	}
	// The end: footer marker, footer (the header with the directory's
	// place), end-of-stream marker.
	eos, footer, footerMarker := b[len(b)-512:], b[len(b)-1024:len(b)-512], b[len(b)-1536:len(b)-1024]
	if !bytes.Equal(eos, make([]byte, 512)) || le.Uint32(footerMarker[12:]) != markerFooter || le.Uint64(footerMarker) != 1 {
		t.Fatal("the file does not end with a footer marker, the footer and an end-of-stream marker")
	}
	gd := int64(le.Uint64(footer[56:]))
	if !bytes.Equal(footer[:56], b[:56]) || !bytes.Equal(footer[64:], b[64:512]) {
		t.Error("the footer is not a copy of the header")
	}
	if le.Uint32(b[gd*512-512+12:]) != markerGD {
		t.Errorf("no grain directory marker before sector %d", gd)
	}
	gt := int64(le.Uint32(b[gd*512:]))
	entry := le.Uint32(b[gt*512+4:]) // grain 1
	if le.Uint64(b[int64(entry)*512:]) != grainSectors {
		t.Errorf("grain 1's table entry points at a marker for LBA %d", le.Uint64(b[int64(entry)*512:]))
	}
	if le.Uint32(b[gt*512:]) != 0 {
		t.Error("the all-zero grain 0 has a table entry")
	}
	for _, want := range []string{"CID=deadbeef\n", `ddb.adapterType = "ide"`, `ddb.geometry.heads = "16"`, `RW 4096 SPARSE "out.vmdk"`, `createType="streamOptimized"`} {
		if !bytes.Contains(b[512:512*21], []byte(want)) {
			t.Errorf("the descriptor lacks %s", want)
		}
	}
}

func TestWrite_stopsWhenCancelled(t *testing.T) {
	raw := rawDisk(t, 16<<20, piece{0, randomBytes(1, 16<<20)})
	in, _ := os.Open(raw)
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Write(ctx, new(bytes.Buffer), in, []fileutil.Extent{{Offset: 0, Length: 16 << 20}}, Options{Capacity: 16 << 20})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write after cancel = %v, want context.Canceled", err)
	}
}

func TestWrite_refusesAnEmptyDisk(t *testing.T) {
	if err := Write(context.Background(), new(bytes.Buffer), bytes.NewReader(nil), nil, Options{}); err == nil {
		t.Fatal("a disk of 0 bytes was accepted")
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.n -= len(b); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

func TestWrite_reportsAWriteError(t *testing.T) {
	raw := rawDisk(t, 8<<20, piece{0, randomBytes(1, 8<<20)})
	in, _ := os.Open(raw)
	defer in.Close()
	err := Write(context.Background(), &failingWriter{n: 1 << 20}, in, []fileutil.Extent{{Offset: 0, Length: 8 << 20}}, Options{Capacity: 8 << 20})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Write = %v, want the writer's error", err)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
