package kvm

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize reads a disk size such as "20G", "10240M" or "1T". A bare
// number is MiB, as in the official qemu builder.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := map[byte]int64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}
	mult := int64(1 << 20)
	num := strings.TrimSuffix(strings.ToUpper(s), "B")
	if n := len(num); n > 0 {
		if u, ok := units[num[n-1]]; ok {
			mult, num = u, num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a size: write a positive number with a unit, such as \"20G\" or \"10240M\"", s)
	}
	return v * mult, nil
}
