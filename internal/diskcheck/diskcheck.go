// Package diskcheck tells a disk image from other data that qemu-img would
// also call "raw": a download's error page, a compressed file, a text file
// with a disk's extension. The builder and the export share it so both
// refuse the same inputs.
package diskcheck

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// HasPartitionTable reports whether the file's first sector ends with the
// boot signature 0x55 0xAA, which an MBR disk and a GPT disk (through its
// protective MBR) both carry.
func HasPartitionTable(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sector := make([]byte, 512)
	if _, err := io.ReadFull(f, sector); err != nil {
		return false
	}
	return sector[510] == 0x55 && sector[511] == 0xAA
}

// PartitionsFit checks that a raw disk holds every partition its MBR lists
// and, behind a protective MBR, the whole GPT disk up to the backup header
// (UEFI spec, "GUID Partition Table Disk Layout"). A truncated raw image
// fails this before it is booted. Sectors are 512 bytes, as in every cloud
// image.
func PartitionsFit(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	head := make([]byte, 1024)
	if _, err := io.ReadFull(f, head); err != nil {
		return fmt.Errorf("reading its partition table: %w", err)
	}
	need := uint64(0)
	for i := 0; i < 4; i++ {
		entry := head[446+16*i : 446+16*(i+1)]
		if entry[4] == 0 {
			continue
		}
		start, count := binary.LittleEndian.Uint32(entry[8:]), binary.LittleEndian.Uint32(entry[12:])
		if entry[4] == 0xEE && string(head[512:520]) == "EFI PART" {
			// The backup GPT header sits in the disk's last sector.
			need = max(need, (binary.LittleEndian.Uint64(head[512+32:])+1)*512)
			continue
		}
		need = max(need, (uint64(start)+uint64(count))*512)
	}
	if size := uint64(fi.Size()); need > size {
		return fmt.Errorf("its partition table describes a %d-byte disk but the file holds only %d bytes", need, size)
	}
	return nil
}
