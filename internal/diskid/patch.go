package diskid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"regexp"
	"time"
)

// withFile opens path for reading and writing and runs patch on it.
func withFile(path string, patch func(f *os.File) error) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := patch(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

func readAt(f *os.File, off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := f.ReadAt(b, off)
	return b, err
}

// VHD (Microsoft's "Virtual Hard Disk Image Format Specification"): the
// 512-byte footer at the end of the file, and its copy at the start of a
// dynamic or differencing disk, hold a timestamp (seconds since
// 2000-01-01 UTC, big-endian), a unique id and a checksum: the one's
// complement of the sum of the footer's bytes, without the checksum.
const (
	vhdFooterSize    = 512
	vhdTimestampAt   = 24
	vhdDiskTypeAt    = 60
	vhdChecksumAt    = 64
	vhdUniqueIDAt    = 68
	vhdDynamicDisk   = 3
	vhdDifferencing  = 4
	vhdTimestampBase = 946684800 // 2000-01-01T00:00:00Z
)

// PatchVHD sets the footers' unique id and timestamp.
func PatchVHD(path string, id UUID, t time.Time) error {
	return withFile(path, func(f *os.File) error {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.Size() < vhdFooterSize {
			return errors.New("too short for a VHD")
		}
		end := st.Size() - vhdFooterSize
		footer, err := readAt(f, end, vhdFooterSize)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(footer, []byte("conectix")) {
			return errors.New("no VHD footer (conectix) at the end")
		}
		places := []int64{end}
		if kind := binary.BigEndian.Uint32(footer[vhdDiskTypeAt:]); kind == vhdDynamicDisk || kind == vhdDifferencing {
			places = append(places, 0)
		}
		for _, at := range places {
			b, err := readAt(f, at, vhdFooterSize)
			if err != nil {
				return err
			}
			if !bytes.HasPrefix(b, []byte("conectix")) {
				return fmt.Errorf("no VHD footer copy at offset %d", at)
			}
			patchVHDFooter(b, id, t)
			if _, err := f.WriteAt(b, at); err != nil {
				return err
			}
		}
		return nil
	})
}

func patchVHDFooter(b []byte, id UUID, t time.Time) {
	secs := min(max(t.Unix()-vhdTimestampBase, 0), math.MaxUint32)
	binary.BigEndian.PutUint32(b[vhdTimestampAt:], uint32(secs))
	copy(b[vhdUniqueIDAt:], id[:])
	binary.BigEndian.PutUint32(b[vhdChecksumAt:], 0)
	var sum uint32
	for _, c := range b {
		sum += uint32(c)
	}
	binary.BigEndian.PutUint32(b[vhdChecksumAt:], ^sum)
}

// VDI (VirtualBox's VDICore.h, header version 1.1): after the 64-byte
// banner, the signature 0xbeda107f and the version, the header holds the
// image's creation UUID at 0x188 and its last-modification UUID at
// 0x198; the linkage and parent UUIDs that follow stay as they are (zero
// for an image without a parent). Nothing is checksummed.
const (
	vdiSignatureAt = 0x40
	vdiSignature   = 0xbeda107f
	vdiHeaderSize  = 0x48
	vdiCreateAt    = 0x188
	vdiModifyAt    = 0x198
	vdiMinHeader   = 0x1c8 - 0x48 // up to the end of the parent UUID
)

// PatchVDI sets the creation and modification UUIDs.
func PatchVDI(path string, create, modify UUID) error {
	return withFile(path, func(f *os.File) error {
		b, err := readAt(f, 0, 0x200)
		if err != nil {
			return err
		}
		le := binary.LittleEndian
		if le.Uint32(b[vdiSignatureAt:]) != vdiSignature || le.Uint32(b[vdiSignatureAt+4:])>>16 != 1 {
			return errors.New("not a VDI 1.x image")
		}
		if le.Uint32(b[vdiHeaderSize:]) < vdiMinHeader {
			return fmt.Errorf("VDI header of %d bytes has no UUIDs", le.Uint32(b[vdiHeaderSize:]))
		}
		if _, err := f.WriteAt(create[:], vdiCreateAt); err != nil {
			return err
		}
		_, err = f.WriteAt(modify[:], vdiModifyAt)
		return err
	})
}

// VHDX ([MS-VHDX]): two 4 KiB headers at 64 and 128 KiB, each with a
// FileWriteGuid, a DataWriteGuid and a LogGuid and a CRC-32C of the
// header (its checksum field zero); the metadata region, found through
// the region table at 192 KiB, holds the Page 83 data item: the virtual
// disk's id. The headers' sequence numbers start at a random value; the
// current header is the one with the greater number, so they become 1
// and 2 in the same order. A non-zero LogGuid means a log waiting to be
// replayed, whose entries carry it: such a file is refused. With a zero
// LogGuid the log region holds only stale entries (qemu-img leaves the
// ones of its own metadata updates, with random GUIDs), which the spec
// ignores: the region is zeroed.
const (
	vhdxHeaderSize   = 4096
	vhdxRegionTable  = 192 << 10
	vhdxFileWriteAt  = 16
	vhdxDataWriteAt  = 32
	vhdxLogGUIDAt    = 48
	vhdxSequenceAt   = 8
	vhdxLogLengthAt  = 68
	vhdxLogOffsetAt  = 72
	vhdxChecksumAt   = 4
	vhdxRegionEntry  = 32
	vhdxMetadataHead = 32
)

var (
	vhdxHeaderOffsets = []int64{64 << 10, 128 << 10}
	// GUIDs as stored: the first three fields little-endian.
	vhdxMetadataRegion = []byte{0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e}
	vhdxPage83Item     = []byte{0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45, 0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46}
	crc32c             = crc32.MakeTable(crc32.Castagnoli)
)

// PatchVHDX sets both headers' file and data write GUIDs and the virtual
// disk id.
func PatchVHDX(path string, fileWrite, dataWrite, diskID UUID) error {
	return withFile(path, func(f *os.File) error {
		magic, err := readAt(f, 0, 8)
		if err != nil || string(magic) != "vhdxfile" {
			return errors.New("not a VHDX file")
		}
		var seq [2]uint64
		for i, at := range vhdxHeaderOffsets {
			h, err := readAt(f, at, vhdxHeaderSize)
			if err != nil {
				return err
			}
			seq[i] = binary.LittleEndian.Uint64(h[vhdxSequenceAt:])
		}
		newSeq := [2]uint64{1, 1}
		if seq[0] > seq[1] {
			newSeq[0] = 2
		} else if seq[1] > seq[0] {
			newSeq[1] = 2
		}
		for i, at := range vhdxHeaderOffsets {
			if err := patchVHDXHeader(f, at, newSeq[i], fileWrite, dataWrite); err != nil {
				return err
			}
		}
		at, err := vhdxPage83Offset(f)
		if err != nil {
			return err
		}
		_, err = f.WriteAt(diskID[:], at)
		return err
	})
}

func patchVHDXHeader(f *os.File, at int64, seq uint64, fileWrite, dataWrite UUID) error {
	h, err := readAt(f, at, vhdxHeaderSize)
	if err != nil {
		return err
	}
	if string(h[:4]) != "head" {
		return fmt.Errorf("no VHDX header at offset %d", at)
	}
	if !bytes.Equal(h[vhdxLogGUIDAt:vhdxLogGUIDAt+16], make([]byte, 16)) {
		return errors.New("the VHDX has a log to replay")
	}
	logOffset, logLength := int64(binary.LittleEndian.Uint64(h[vhdxLogOffsetAt:])), int64(binary.LittleEndian.Uint32(h[vhdxLogLengthAt:]))
	if logLength > 0 && logLength <= 1<<32 {
		if _, err := f.WriteAt(make([]byte, logLength), logOffset); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint64(h[vhdxSequenceAt:], seq)
	copy(h[vhdxFileWriteAt:], fileWrite[:])
	copy(h[vhdxDataWriteAt:], dataWrite[:])
	binary.LittleEndian.PutUint32(h[vhdxChecksumAt:], 0)
	binary.LittleEndian.PutUint32(h[vhdxChecksumAt:], crc32.Checksum(h, crc32c))
	_, err = f.WriteAt(h, at)
	return err
}

// vhdxPage83Offset finds the Page 83 data item in the metadata region.
func vhdxPage83Offset(f *os.File) (int64, error) {
	rt, err := readAt(f, vhdxRegionTable, 64<<10)
	if err != nil {
		return 0, err
	}
	le := binary.LittleEndian
	if string(rt[:4]) != "regi" {
		return 0, errors.New("no VHDX region table")
	}
	count := int(le.Uint32(rt[8:]))
	for i := 0; i < count && 16+vhdxRegionEntry*(i+1) <= len(rt); i++ {
		e := rt[16+vhdxRegionEntry*i:]
		if !bytes.Equal(e[:16], vhdxMetadataRegion) {
			continue
		}
		region := int64(le.Uint64(e[16:]))
		meta, err := readAt(f, region, 64<<10)
		if err != nil {
			return 0, err
		}
		if string(meta[:8]) != "metadata" {
			return 0, errors.New("no VHDX metadata table")
		}
		items := int(le.Uint16(meta[10:]))
		for j := 0; j < items && vhdxMetadataHead+32*(j+1) <= len(meta); j++ {
			item := meta[vhdxMetadataHead+32*j:]
			if bytes.Equal(item[:16], vhdxPage83Item) && le.Uint32(item[20:]) == 16 {
				return region + int64(le.Uint32(item[16:])), nil
			}
		}
		return 0, errors.New("the VHDX metadata has no Page 83 data")
	}
	return 0, errors.New("the VHDX has no metadata region")
}

// VMDK (VMware's "Virtual Disk Format 5.0"): a hosted sparse extent
// embeds its text descriptor at descriptorOffset (sectors), whose CID line
// is the content id drawn at random on creation.
var cidLine = regexp.MustCompile(`(?m)^CID=[0-9a-fA-F]+$`)

// PatchVMDKCID sets the CID of a sparse VMDK's embedded descriptor.
func PatchVMDKCID(path string, cid uint32) error {
	return withFile(path, func(f *os.File) error {
		h, err := readAt(f, 0, 512)
		if err != nil {
			return err
		}
		le := binary.LittleEndian
		if le.Uint32(h) != 0x564d444b {
			return errors.New("not a sparse VMDK (no KDMV header)")
		}
		off, size := int64(le.Uint64(h[28:]))*512, int(le.Uint64(h[36:]))*512
		if off == 0 || size == 0 || size > 1<<20 {
			return errors.New("the VMDK embeds no descriptor")
		}
		desc, err := readAt(f, off, size)
		if err != nil {
			return err
		}
		text := bytes.TrimRight(desc, "\x00")
		if len(cidLine.FindAllIndex(text, -1)) != 1 {
			return errors.New("the VMDK descriptor has no single CID line")
		}
		text = cidLine.ReplaceAll(text, []byte(fmt.Sprintf("CID=%08x", cid)))
		if len(text) > size {
			return errors.New("the VMDK descriptor has no room for the CID")
		}
		out := make([]byte, size)
		copy(out, text)
		_, err = f.WriteAt(out, off)
		return err
	})
}
