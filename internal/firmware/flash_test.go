package firmware

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Homebrew's edk2-aarch64-code.fd is shorter than the `virt` board's 64 MiB
// flash bank: the build maps a padded copy and leaves the shared file alone.
func TestPadToBank_padsShortFilesToTheFlashBank(t *testing.T) {
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "edk2-aarch64-code.fd"), filepath.Join(dir, "edk2-arm-vars.fd")
	os.WriteFile(code, []byte("code"), 0o644)
	os.WriteFile(vars, []byte("vars"), 0o644)
	const bank = 1 << 20
	m, err := prepare(t, Request{Candidates: [][2]string{{code, vars}}}, bank)
	if err != nil {
		t.Fatal(err)
	}
	if m.code == code || filepath.Dir(m.code) != filepath.Dir(m.vars.Filename) {
		t.Fatalf("code %s is not the build's padded copy", m.code)
	}
	for _, f := range []string{m.code, m.vars.Filename} {
		data, _ := os.ReadFile(f)
		if len(data) != bank || !bytes.Equal(bytes.TrimRight(data, "\x00"), data[:4]) {
			t.Errorf("%s: %d bytes starting %q, want the file zero-padded to %d", f, len(data), data[:min(4, len(data))], bank)
		}
	}
	if fileSize(code) != 4 {
		t.Error("the shared code file was modified")
	}
}

func TestPadToBank_fullSizeCodeIsMappedInPlace(t *testing.T) {
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "AAVMF_CODE.fd"), filepath.Join(dir, "AAVMF_VARS.fd")
	os.WriteFile(code, make([]byte, 4096), 0o644)
	os.WriteFile(vars, make([]byte, 4096), 0o644)
	if m, err := prepare(t, Request{Candidates: [][2]string{{code, vars}}}, 4096); err != nil || m.code != code {
		t.Fatalf("code %v (err %v), want %s", m.code, err, code)
	}
}

func TestPadToBank_oversizedFirmwareIsRefused(t *testing.T) {
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "CODE.fd"), filepath.Join(dir, "VARS.fd")
	os.WriteFile(code, make([]byte, 8192), 0o644)
	os.WriteFile(vars, make([]byte, 10), 0o644)
	if _, err := prepare(t, Request{Candidates: [][2]string{{code, vars}}}, 4096); err == nil || !strings.Contains(err.Error(), "larger than the 4096-byte flash bank") {
		t.Fatalf("error %v", err)
	}
}
