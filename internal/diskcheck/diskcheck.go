// Package diskcheck tells a disk image from other data that qemu-img would
// also call "raw": a download's error page, a compressed file, a text file
// with a disk's extension. The builder and the export share it so both
// refuse the same inputs.
package diskcheck

import (
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
