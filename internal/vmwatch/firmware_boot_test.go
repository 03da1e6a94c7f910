package vmwatch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFirmwareBoot_failsWhenOVMFGivesUp(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	w := NewFirmwareBoot(SerialLog{Path: log})
	if err := w.Check(); err != nil {
		t.Fatalf("no log yet: %v", err)
	}
	appendTo(t, log, "BdsDxe: loading Boot0001 \"UEFI Misc Device\" from PciRoot(0x0)/Pci(0x1,0x0)\r\n"+
		"BdsDxe: failed to load Boot0001 \"UEFI Misc Device\" from PciRoot(0x0)/Pci(0x1,0x0): Access Denied\r\n")
	if err := w.Check(); err != nil {
		t.Fatalf("the firmware may still try other options: %v", err)
	}
	// The marker arrives cut in two between two looks.
	appendTo(t, log, "BdsDxe: No bootable option or dev")
	if err := w.Check(); err != nil {
		t.Fatalf("half a line: %v", err)
	}
	appendTo(t, log, "ice was found.\r\n")
	err := w.Check()
	if err == nil || !strings.Contains(err.Error(), "refused to start the guest's boot loader") || !strings.Contains(err.Error(), "Access Denied") {
		t.Fatalf("error %v", err)
	}
}

func TestFirmwareBoot_nothingToBootWithoutSecureBoot(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	appendTo(t, log, "BdsDxe: failed to load Boot0001 \"UEFI Misc Device\": Not Found\r\nBdsDxe: No bootable option or device was found.\r\n")
	err := NewFirmwareBoot(SerialLog{Path: log}).Check()
	if err == nil || !strings.Contains(err.Error(), "found nothing to boot") {
		t.Fatalf("error %v", err)
	}
}

func TestFirmwareBoot_aBootingGuestPasses(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	appendTo(t, log, "BdsDxe: starting Boot0001 \"UEFI Misc Device\"\r\n[    0.000000] Linux version 6.1.0\r\nAccess Denied in a kernel message\r\n")
	if err := NewFirmwareBoot(SerialLog{Path: log}).Check(); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, text string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(text)
	f.Close()
}
