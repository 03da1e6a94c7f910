package export

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// noSpaceError is an export that ran out of disk space, said plainly.
type noSpaceError struct {
	Dir, Output string
	Err         error
}

func (e *noSpaceError) Error() string {
	return fmt.Sprintf("no space left on device in %s while writing %s: free some space there or set output_directory to a larger file system", e.Dir, e.Output)
}

func (e *noSpaceError) Unwrap() error { return e.Err }

// nearlyFull is how little free space makes qemu-img's "Invalid argument"
// believable as a full disk.
const nearlyFull = 4 << 20

// explainNoSpace turns an out-of-space failure writing output in dir into
// a noSpaceError. Go reports ENOSPC; qemu-img prints "No space left on
// device", or "Invalid argument" from its compressed (streamOptimized
// VMDK) writes, or even aborts on an assertion in the VMDK driver's error
// path: any failure other than ENOSPC counts only when dir's file system
// is nearly full. Call it before the failed target's files are removed.
func (e *exporter) explainNoSpace(err error, dir, output string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	full := errors.Is(err, syscall.ENOSPC) || strings.Contains(msg, "No space left on device")
	if !full {
		freeSpace := e.FreeSpace
		if freeSpace == nil {
			freeSpace = freeBytes
		}
		free, ok := freeSpace(dir)
		full = ok && free < nearlyFull
	}
	if !full {
		return err
	}
	return &noSpaceError{Dir: dir, Output: output, Err: err}
}
