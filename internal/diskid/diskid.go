// Package diskid gives disk image files the identifiers and timestamps
// that make them reproducible: identifiers that formats otherwise draw at
// random are derived from a seed (the input image's digest) and a name,
// and written in place into files qemu-img created, per each format's
// published layout; timestamps come from SOURCE_DATE_EPOCH.
package diskid

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// UUID is 16 bytes in the order a format stores them.
type UUID [16]byte

// Derive returns the identifier named purpose (such as "vhdx/page83")
// of the output named target, from seed: the first 16 bytes of
// HMAC-SHA256(seed, target NUL purpose), shaped as an RFC 9562 version 8
// (custom) UUID. Different targets and purposes give unrelated values;
// the same ones always give the same value.
func Derive(seed, target, purpose string) UUID {
	mac := hmac.New(sha256.New, []byte(seed))
	mac.Write([]byte(target + "\x00" + purpose))
	var u UUID
	copy(u[:], mac.Sum(nil))
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}

// Derive32 is a 32-bit identifier (a VMDK's CID), derived like Derive.
func Derive32(seed, target, purpose string) uint32 {
	u := Derive(seed, target, purpose)
	return uint32(u[0])<<24 | uint32(u[1])<<16 | uint32(u[2])<<8 | uint32(u[3])
}

func (u UUID) String() string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// FixedTime is the timestamp of outputs when SOURCE_DATE_EPOCH is not
// set: 2000-01-01T00:00:00Z, the epoch of VHD's timestamps and a time
// every tar and gzip header can hold.
var FixedTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Timestamp is the time outputs record: SOURCE_DATE_EPOCH (seconds since
// 1970, https://reproducible-builds.org/specs/source-date-epoch/) when it
// is set, else FixedTime.
func Timestamp() (time.Time, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return FixedTime, nil
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a count of seconds since 1970: unset it or give one such as 1700000000", v)
	}
	return time.Unix(secs, 0).UTC(), nil
}
