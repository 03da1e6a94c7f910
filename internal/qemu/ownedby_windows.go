package qemu

import "io/fs"

// ownedByRoot: Windows has no setuid; bridged networking is Linux-only.
func ownedByRoot(fs.FileInfo) bool { return false }
