// Package vmdk writes streamOptimized VMDK files (VMware's "Virtual Disk
// Format 5.0"): a sparse extent with deflate-compressed grains, grain
// markers, and the grain tables, grain directory and footer written after
// the data, so the file can be produced in one pass. Grains are compressed
// by a pool of workers and written in order, so the output depends only on
// the input and the options, never on scheduling.
package vmdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/zlib"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

const (
	sectorSize   = 512
	grainSectors = 128 // 64 KiB grains, what VMware and QEMU write
	grainBytes   = grainSectors * sectorSize
	gtEntries    = 512 // grain table entries per grain table
	gtSectors    = gtEntries * 4 / sectorSize
	// descriptorSectors is the room of the embedded descriptor, as
	// VMware's tools reserve it.
	descriptorSectors = 20
	// overheadSectors: the header and descriptor fill the first grain,
	// and the data starts on a grain boundary.
	overheadSectors = grainSectors

	magic     = 0x564d444b // "KDMV"
	version   = 3
	gdAtEnd   = ^uint64(0)
	deflate   = 1
	flagNL    = 1 << 0  // valid new-line detection test
	flagZlib  = 1 << 16 // compressed grains
	flagMarks = 1 << 17 // markers

	markerEOS    = 0
	markerGT     = 1
	markerGD     = 2
	markerFooter = 3
)

// Options describe the disk.
type Options struct {
	// Capacity is the virtual size in bytes; a partial last sector or
	// grain reads as zeros.
	Capacity int64
	// FileName is the extent's file name recorded in the descriptor (the
	// name the file is published under).
	FileName string
	// AdapterType is ddb.adapterType: "lsilogic" (default), "buslogic",
	// "legacyESX" or "ide" (which changes the geometry's heads).
	AdapterType string
	// CID is the descriptor's content ID; callers derive it from the
	// content so that the file is reproducible.
	CID uint32
	// Workers compress grains; 0 means GOMAXPROCS.
	Workers int
	// Level is the zlib level; 0 means zlib's default.
	Level int
}

// Write writes src, whose data lies within extents (holes read as zeros),
// as a streamOptimized VMDK to w. Grains that are all zeros are left out.
func Write(ctx context.Context, w io.Writer, src io.ReaderAt, extents []fileutil.Extent, o Options) error {
	if o.Capacity <= 0 {
		return fmt.Errorf("vmdk: capacity %d: give a positive size", o.Capacity)
	}
	if o.AdapterType == "" {
		o.AdapterType = "lsilogic"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Level == 0 {
		o.Level = zlib.DefaultCompression
	}
	sw := &sectorWriter{w: w}
	capSectors := (o.Capacity + sectorSize - 1) / sectorSize
	header := newHeader(capSectors)
	if err := sw.write(header.bytes()); err != nil {
		return err
	}
	desc := descriptor(o, capSectors)
	if len(desc) > descriptorSectors*sectorSize {
		return fmt.Errorf("vmdk: descriptor of %d bytes does not fit", len(desc))
	}
	if err := sw.write(padded(desc, descriptorSectors*sectorSize)); err != nil {
		return err
	}
	if err := sw.write(make([]byte, (overheadSectors-1-descriptorSectors)*sectorSize)); err != nil {
		return err
	}

	grains := (capSectors + grainSectors - 1) / grainSectors
	tables := newTables(grains)
	err := compressGrains(ctx, src, extents, o, capSectors*sectorSize, func(g compressed) error {
		if err := tables.advanceTo(sw, g.index); err != nil {
			return err
		}
		tables.set(g.index, sw.sector)
		return sw.write(g.data)
	})
	if err != nil {
		return err
	}
	if err := tables.advanceTo(sw, int64(len(tables.gd))*gtEntries); err != nil { // the last table too
		return err
	}
	gdSector := sw.sector + 1
	if err := sw.write(metadataMarker(int64(len(tables.gd))*4, markerGD)); err != nil {
		return err
	}
	if err := sw.write(padded(u32s(tables.gd), sectorsFor(int64(len(tables.gd))*4)*sectorSize)); err != nil {
		return err
	}
	footer := header
	footer.gdOffset = uint64(gdSector)
	if err := sw.write(metadataMarker(sectorSize, markerFooter)); err != nil {
		return err
	}
	if err := sw.write(footer.bytes()); err != nil {
		return err
	}
	return sw.write(make([]byte, sectorSize)) // end-of-stream marker
}

// header is the SparseExtentHeader.
type header struct {
	capacity uint64
	gdOffset uint64
}

func newHeader(capSectors int64) header {
	return header{capacity: uint64(capSectors), gdOffset: gdAtEnd}
}

func (h header) bytes() []byte {
	b := make([]byte, sectorSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], magic)
	le.PutUint32(b[4:], version)
	le.PutUint32(b[8:], flagNL|flagZlib|flagMarks)
	le.PutUint64(b[12:], h.capacity)
	le.PutUint64(b[20:], grainSectors)
	le.PutUint64(b[28:], 1) // descriptor right after the header
	le.PutUint64(b[36:], descriptorSectors)
	le.PutUint32(b[44:], gtEntries)
	le.PutUint64(b[48:], 0) // no redundant grain directory
	le.PutUint64(b[56:], h.gdOffset)
	le.PutUint64(b[64:], overheadSectors)
	b[72] = 0 // clean
	// The characters a text-mode transfer would mangle.
	copy(b[73:77], "\n \r\n")
	le.PutUint16(b[77:], deflate)
	return b
}

// descriptor is the embedded text descriptor. The geometry is what
// VMware derives for the adapter: 16 heads for IDE, else 255, and 63
// sectors a track, with the cylinders capped.
func descriptor(o Options, capSectors int64) []byte {
	heads, maxCyl := int64(255), int64(65535)
	if o.AdapterType == "ide" {
		heads, maxCyl = 16, 16383
	}
	cylinders := min(capSectors/(heads*63), maxCyl)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Disk DescriptorFile\nversion=1\nCID=%08x\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n\n", o.CID)
	fmt.Fprintf(&b, "# Extent description\nRW %d SPARSE %q\n\n", capSectors, o.FileName)
	fmt.Fprintf(&b, "# The Disk Data Base\n#DDB\n\n")
	fmt.Fprintf(&b, "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"%d\"\nddb.geometry.heads = \"%d\"\nddb.geometry.sectors = \"63\"\n", cylinders, heads)
	fmt.Fprintf(&b, "ddb.adapterType = %q\n", o.AdapterType)
	// ESXi reads the disk's tools as current rather than warning.
	fmt.Fprintf(&b, "ddb.toolsVersion = \"2147483647\"\n")
	return b.Bytes()
}

// metadataMarker announces size bytes of grain tables, grain directory
// or footer that follow in whole sectors.
func metadataMarker(size int64, kind uint32) []byte {
	b := make([]byte, sectorSize)
	binary.LittleEndian.PutUint64(b[0:], uint64(sectorsFor(size)))
	binary.LittleEndian.PutUint32(b[12:], kind)
	return b
}

func sectorsFor(n int64) int64 { return (n + sectorSize - 1) / sectorSize }

func padded(b []byte, size int64) []byte {
	out := make([]byte, size)
	copy(out, b)
	return out
}

func u32s(v []uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// sectorWriter counts the sectors written.
type sectorWriter struct {
	w      io.Writer
	sector int64
}

func (s *sectorWriter) write(b []byte) error {
	if len(b)%sectorSize != 0 {
		panic("vmdk: unaligned write")
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	s.sector += int64(len(b)) / sectorSize
	return nil
}

// tables builds the grain directory as grains are written: each grain
// table follows the grains it maps, and a table with no grain is left
// out (its directory entry stays 0).
type tables struct {
	gd      []uint32
	current []uint32 // the grain table being filled
	table   int64    // its index
	used    bool
}

func newTables(grains int64) *tables {
	return &tables{gd: make([]uint32, (grains+gtEntries-1)/gtEntries), current: make([]uint32, gtEntries)}
}

func (t *tables) set(grain, sector int64) {
	t.current[grain%gtEntries] = uint32(sector)
	t.used = true
}

// advanceTo writes out every grain table before the one holding grain.
func (t *tables) advanceTo(sw *sectorWriter, grain int64) error {
	for t.table < grain/gtEntries {
		if t.used {
			if err := sw.write(metadataMarker(gtSectors*sectorSize, markerGT)); err != nil {
				return err
			}
			t.gd[t.table] = uint32(sw.sector)
			if err := sw.write(u32s(t.current)); err != nil {
				return err
			}
			clear(t.current)
			t.used = false
		}
		t.table++
	}
	return nil
}
