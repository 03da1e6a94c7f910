package export

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// Compute Engine's manual import takes a gzip'd tar holding disk.raw and
// documents making it with `tar --format=oldgnu -Sczf`: the GNU (oldgnu)
// format with the disk's holes left out as a sparse member. Go's
// archive/tar reads that format but does not write it, hence this writer.

const (
	tarBlock          = 512
	sparseInHeader    = 4  // sparse map entries in the member's header
	sparseInExtension = 21 // entries in each extension block
)

// putNumeric writes x in a tar numeric field: octal, or GNU base-256 when
// it does not fit (a member over 8 GiB).
func putNumeric(field []byte, x int64) {
	octal := fmt.Sprintf("%0*o", len(field)-1, x)
	if len(octal) < len(field) {
		copy(field, octal)
		field[len(field)-1] = 0
		return
	}
	clear(field)
	field[0] = 0x80
	for i := len(field) - 1; i > 0 && x > 0; i-- {
		field[i] = byte(x)
		x >>= 8
	}
}

// putSparseEntries fills consecutive 24-byte {offset, length} entries.
func putSparseEntries(b []byte, entries []fileutil.Extent) {
	for i, e := range entries {
		putNumeric(b[24*i:24*i+12], e.Offset)
		putNumeric(b[24*i+12:24*i+24], e.Length)
	}
}

// oldGNUSparseHeader builds the header block and extension blocks of a
// sparse member named name of realSize bytes whose data is extents.
func oldGNUSparseHeader(name string, realSize int64, extents []fileutil.Extent, modTime time.Time) []byte {
	sparseMap := extents
	if n := len(extents); n == 0 || extents[n-1].Offset+extents[n-1].Length < realSize {
		// A trailing hole is marked by an empty entry at the end.
		sparseMap = append(sparseMap[:n:n], fileutil.Extent{Offset: realSize})
	}
	var stored int64
	for _, e := range extents {
		stored += e.Length
	}
	h := make([]byte, tarBlock)
	copy(h[0:100], name)
	putNumeric(h[100:108], 0o644)
	putNumeric(h[108:116], 0)
	putNumeric(h[116:124], 0)
	putNumeric(h[124:136], stored)
	putNumeric(h[136:148], modTime.Unix())
	h[156] = 'S'
	copy(h[257:265], "ustar  \x00")
	copy(h[265:297], "root")
	copy(h[297:329], "root")
	first := min(len(sparseMap), sparseInHeader)
	putSparseEntries(h[386:482], sparseMap[:first])
	putNumeric(h[483:495], realSize)
	rest := sparseMap[first:]
	if len(rest) > 0 {
		h[482] = 1
	}
	// The checksum counts its own field as spaces.
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))

	blocks := h
	for len(rest) > 0 {
		ext := make([]byte, tarBlock)
		n := min(len(rest), sparseInExtension)
		putSparseEntries(ext, rest[:n])
		rest = rest[n:]
		if len(rest) > 0 {
			ext[504] = 1
		}
		blocks = append(blocks, ext...)
	}
	return blocks
}

// writeGCETarball writes raw as disk.raw, a sparse member of an
// oldgnu-format tar.gz, the layout Compute Engine imports. The member
// records modTime, owner 0/0 "root"; the gzip header no name, no time
// and OS "unknown": nothing of the host.
func writeGCETarball(ctx context.Context, raw, dst string, modTime time.Time, withSHA512 bool) (map[string]string, error) {
	in, err := os.Open(raw)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return nil, err
	}
	extents, err := fileutil.DataExtents(in, st.Size())
	if err != nil {
		return nil, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	hashed, sums := hashingWriter(out, withSHA512)
	gz := gzip.NewWriter(hashed)
	// MTIME 0: "no time stamp" (RFC 1952); klauspost writes a zero
	// time.Time as a wrapped value otherwise.
	gz.ModTime = time.Unix(0, 0)
	if _, err := gz.Write(oldGNUSparseHeader("disk.raw", st.Size(), extents, modTime)); err != nil {
		return nil, err
	}
	var stored int64
	for _, e := range extents {
		if _, err := io.Copy(gz, fileutil.ContextReader{Ctx: ctx, R: io.NewSectionReader(in, e.Offset, e.Length)}); err != nil {
			return nil, err
		}
		stored += e.Length
	}
	// Pad the data to a block, then the two zero blocks that end a tar.
	padding := (tarBlock - stored%tarBlock) % tarBlock
	if _, err := gz.Write(bytes.Repeat([]byte{0}, int(padding)+2*tarBlock)); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return sums(), out.Close()
}
