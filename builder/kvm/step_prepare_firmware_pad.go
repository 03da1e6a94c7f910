package kvm

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/firmware"
)

// padFirmware fits the firmware to the machine's flash banks when PadTo is
// set: QEMU's arm `virt` board maps two 64 MiB banks and refuses a file of
// any other size, while some distributions (Homebrew's QEMU among them)
// ship the edk2 code file unpadded. A short code file is copied into the
// work directory and padded there (the original is shared and read-only);
// the build's own variables copy is padded in place. Padding is zeros, as
// edk2's build pads its own flash images. Only raw files are padded: a
// qcow2 image (Fedora's) has its virtual size in its header, and appending
// zeros to it would corrupt it, not resize it. It returns the code file to
// map.
func (s *stepPrepareFirmware) padFirmware(state multistep.StateBag, code, varsCopy firmware.FlashFile) (string, error) {
	if s.PadTo == 0 {
		return code.Filename, nil
	}
	for _, f := range []firmware.FlashFile{code, varsCopy} {
		if size := fileSize(f.Filename); f.Format == "raw" && size > s.PadTo {
			return "", fmt.Errorf("UEFI firmware file %s is %d bytes, larger than the %d-byte flash bank the machine maps: set efi_firmware_code and efi_firmware_vars to files for this machine", f.Filename, size, s.PadTo)
		}
	}
	if varsCopy.Format == "raw" {
		if err := os.Truncate(varsCopy.Filename, s.PadTo); err != nil {
			return "", fmt.Errorf("padding the UEFI variables file: %w", err)
		}
	}
	if code.Format != "raw" || fileSize(code.Filename) == s.PadTo {
		return code.Filename, nil
	}
	padded := filepath.Join(keyWorkDir.Get(state), "efi-code.fd")
	if err := fileutil.CopyFile(code.Filename, padded, 0o600); err != nil {
		return "", fmt.Errorf("copying the UEFI code file: %w", err)
	}
	if err := os.Truncate(padded, s.PadTo); err != nil {
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
