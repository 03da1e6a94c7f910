package export

import "golang.org/x/sys/windows"

// freeBytes is the space the caller still has on dir's volume.
func freeBytes(dir string) (int64, bool) {
	path, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, false
	}
	var free, total, totalFree uint64
	if windows.GetDiskFreeSpaceEx(path, &free, &total, &totalFree) != nil {
		return 0, false
	}
	return int64(free), true
}
