package vmwatch

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// OVMF's boot manager (BdsDxe) prints each boot option it tries on the
// serial console; when none of them starts it prints noBootOption and waits
// for a key forever. With Secure Boot on, an option whose loader is not
// signed by a key in the firmware's db fails with "Access Denied" (loading
// it) or "Security Violation" (starting it).
var (
	noBootOption      = []byte("BdsDxe: No bootable option or device was found.")
	secureBootRefusal = [][]byte{[]byte(": Access Denied"), []byte(": Security Violation")}
)

// FirmwareBoot follows the serial log for OVMF giving up, which ends the
// build at once rather than after boot_progress_timeout. It reads only what
// was appended since its last look.
type FirmwareBoot struct {
	serial  SerialLog
	offset  int64
	tail    []byte // the end of what was read, for a marker cut in two
	refused bool
}

// NewFirmwareBoot watches the firmware's messages in the serial log.
func NewFirmwareBoot(serial SerialLog) *FirmwareBoot {
	return &FirmwareBoot{serial: serial}
}

// Check reads what the log gained since the last look, and returns the
// error that ends the build once the firmware has given up, or nil.
func (w *FirmwareBoot) Check() error {
	if w.serial.Path == "" {
		return nil
	}
	f, err := os.Open(w.serial.Path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(w.offset, io.SeekStart); err != nil {
		return nil
	}
	chunk, _ := io.ReadAll(f)
	w.offset += int64(len(chunk))
	text := append(w.tail, chunk...)
	for _, marker := range secureBootRefusal {
		w.refused = w.refused || bytes.Contains(text, marker)
	}
	if bytes.Contains(text, noBootOption) {
		return w.failure()
	}
	keep := min(len(text), 128)
	w.tail = append([]byte(nil), text[len(text)-keep:]...)
	return nil
}

func (w *FirmwareBoot) failure() error {
	if w.refused {
		return fmt.Errorf("the UEFI firmware refused to start the guest's boot loader (Secure Boot: \"Access Denied\"/\"Security Violation\"): it is not signed by a key the firmware trusts. With secure_boot = true the image needs a signed boot chain, such as Debian's shim-signed and grub-efi-amd64-signed as EFI/BOOT/BOOTX64.EFI and grubx64.efi; or set secure_boot = false%s",
			w.serial.Tail(30))
	}
	return fmt.Errorf("the UEFI firmware found nothing to boot: the disk has no EFI system partition with EFI/BOOT/BOOTX64.EFI (is the image made for firmware = \"bios\"?)%s",
		w.serial.Tail(30))
}
