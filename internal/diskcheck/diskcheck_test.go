package diskcheck

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHasPartitionTable(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	mbr := make([]byte, 4096)
	mbr[510], mbr[511] = 0x55, 0xAA
	// A GPT disk: protective MBR (type 0xEE) and the "EFI PART" header in LBA 1.
	gpt := make([]byte, 4096)
	gpt[446+4] = 0xEE
	gpt[510], gpt[511] = 0x55, 0xAA
	copy(gpt[512:], "EFI PART")
	signatureElsewhere := make([]byte, 4096)
	signatureElsewhere[1022], signatureElsewhere[1023] = 0x55, 0xAA

	cases := map[string]struct {
		path string
		want bool
	}{
		"mbr disk":                 {write("mbr.raw", mbr), true},
		"gpt disk":                 {write("gpt.raw", gpt), true},
		"text named like a disk":   {write("x.qcow2", []byte("this is not a disk image\n")), false},
		"signature not in sector0": {write("late.raw", signatureElsewhere), false},
		"empty file":               {write("empty.raw", nil), false},
		"missing file":             {filepath.Join(dir, "absent.raw"), false},
	}
	for name, tc := range cases {
		if got := HasPartitionTable(tc.path); got != tc.want {
			t.Errorf("%s: HasPartitionTable = %v, want %v", name, got, tc.want)
		}
	}
}
