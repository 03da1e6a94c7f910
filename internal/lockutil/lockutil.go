// Package lockutil takes exclusive locks on lock files without waiting:
// flock(2) on Unix, LockFileEx on Windows. The operating system drops a
// lock when its process dies, even by SIGKILL, so a lock that can be taken
// proves that its previous holder is gone. Closing the file unlocks it.
package lockutil

import "errors"

// ErrLocked is TryLock's error when another process holds the lock.
var ErrLocked = errors.New("locked by another process")
