// Package disksize reads the disk sizes a template gives, such as "20G".
package disksize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// units are the suffixes Parse accepts, in bytes (binary multiples, as
// qemu-img reads them).
var units = map[byte]int64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}

// Parse reads a disk size such as "20G", "10240M" or "1T" (a trailing "B"
// and the unit's case are optional) into bytes. A bare number is MiB, as in
// the official qemu builder. The size is positive and fits an int64.
func Parse(s string) (int64, error) {
	s = strings.TrimSpace(s)
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
	if v > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large: give at most %dT", s, math.MaxInt64/(1<<40))
	}
	return v * mult, nil
}
