package firmware

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// CopyVars gives a build its own copy of the variables template, in dir
// (efivars.fd, or efivars.qcow2 for a qcow2 template): the guest writes to
// its variables, and the template is shared.
func CopyVars(template FlashFile, dir string) (FlashFile, error) {
	name := "efivars.fd"
	if template.Format == "qcow2" {
		name = "efivars.qcow2"
	}
	copied := FlashFile{Filename: filepath.Join(dir, name), Format: template.Format}
	if err := fileutil.CopyFile(template.Filename, copied.Filename, 0o600); err != nil {
		return FlashFile{}, fmt.Errorf("copying the UEFI variables file: %w", err)
	}
	return copied, nil
}

// PadToBank fits the firmware to the machine's flash banks of bankSize
// bytes (0: none): QEMU's arm `virt` board maps two 64 MiB banks and
// refuses a file of any other size, while some distributions (Homebrew's
// QEMU among them) ship the edk2 code file unpadded. A short code file is
// copied into dir and padded there (the original is shared and
// read-only); the build's own variables copy is padded in place. Padding
// is zeros, as edk2's build pads its own flash images. Only raw files are
// padded: a qcow2 image (Fedora's) has its virtual size in its header, and
// appending zeros to it would corrupt it, not resize it. It returns the
// code file to map.
func PadToBank(code, varsCopy FlashFile, bankSize int64, dir string) (string, error) {
	if bankSize == 0 {
		return code.Filename, nil
	}
	for _, f := range []FlashFile{code, varsCopy} {
		if size := fileSize(f.Filename); f.Format == "raw" && size > bankSize {
			return "", fmt.Errorf("UEFI firmware file %s is %d bytes, larger than the %d-byte flash bank the machine maps: set efi_firmware_code and efi_firmware_vars to files for this machine", f.Filename, size, bankSize)
		}
	}
	if varsCopy.Format == "raw" {
		if err := os.Truncate(varsCopy.Filename, bankSize); err != nil {
			return "", fmt.Errorf("padding the UEFI variables file: %w", err)
		}
	}
	if code.Format != "raw" || fileSize(code.Filename) == bankSize {
		return code.Filename, nil
	}
	padded := filepath.Join(dir, "efi-code.fd")
	if err := fileutil.CopyFile(code.Filename, padded, 0o600); err != nil {
		return "", fmt.Errorf("copying the UEFI code file: %w", err)
	}
	if err := os.Truncate(padded, bankSize); err != nil {
		return "", fmt.Errorf("padding the UEFI code file: %w", err)
	}
	return padded, nil
}

// fileSize is a file's size, 0 when it cannot be read.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// qcow2Magic starts every qcow2 image.
var qcow2Magic = []byte("QFI\xfb")

// DetectFormat is the block format of a firmware file that no descriptor
// describes: qcow2 when it starts with qcow2's magic, otherwise raw (""
// for no file).
func DetectFormat(path string) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return "raw"
	}
	defer f.Close()
	head := make([]byte, len(qcow2Magic))
	if _, err := io.ReadFull(f, head); err == nil && bytes.Equal(head, qcow2Magic) {
		return "qcow2"
	}
	return "raw"
}
