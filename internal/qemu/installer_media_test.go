package qemu

import (
	"strings"
	"testing"
)

func TestQemuArgs_cloudImageBuildsHaveNoInstallerMedia(t *testing.T) {
	cmdline := strings.Join(Args(testSpec(), testMedia()), " ")
	for _, unwanted := range []string{"media=cdrom", "scsi", "floppy"} {
		if strings.Contains(cmdline, unwanted) {
			t.Errorf("a cloud-image build has %q:\n%s", unwanted, cmdline)
		}
	}
}
