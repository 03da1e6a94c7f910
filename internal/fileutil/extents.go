package fileutil

import (
	"errors"
	"os"
	"syscall"
)

// Extent is one stretch of data in a sparse file.
type Extent struct{ Offset, Length int64 }

// DataExtents lists where f holds data, up to size (SEEK_DATA/SEEK_HOLE).
// A file system without hole reporting yields the whole file as data.
func DataExtents(f *os.File, size int64) ([]Extent, error) {
	const seekData, seekHole = 3, 4
	var extents []Extent
	for off := int64(0); off < size; {
		start, err := f.Seek(off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break // only a hole is left
		}
		if errors.Is(err, syscall.EINVAL) {
			return []Extent{{0, size}}, nil
		}
		if err != nil {
			return nil, err
		}
		if start >= size {
			break
		}
		end, err := f.Seek(start, seekHole)
		if err != nil {
			return nil, err
		}
		end = min(end, size)
		extents = append(extents, Extent{start, end - start})
		off = end
	}
	return extents, nil
}
