package boottest

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// qemuOverheadMiB is what a QEMU process needs beside its guest's memory.
const qemuOverheadMiB = 256

// Concurrency is how many boot VMs of guestMiB each run at once: one per
// core (each VM has one vCPU), within the memory the host has available
// (availableMiB < 0: unknown), and at least one.
func Concurrency(cores int, availableMiB int64, guestMiB int) int {
	n := cores
	if availableMiB >= 0 {
		if byMemory := int(availableMiB / int64(guestMiB+qemuOverheadMiB)); byMemory < n {
			n = byMemory
		}
	}
	return max(n, 1)
}

// DefaultConcurrency is Concurrency on this host.
func DefaultConcurrency(guestMiB int) int {
	return Concurrency(runtime.NumCPU(), availableMemoryMiB("/proc/meminfo"), guestMiB)
}

// availableMemoryMiB reads MemAvailable from a Linux meminfo file, or
// returns -1.
func availableMemoryMiB(meminfo string) int64 {
	f, err := os.Open(meminfo)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kib, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return -1
			}
			return kib / 1024
		}
	}
	return -1
}
