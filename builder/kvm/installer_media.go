package kvm

import (
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// installerMediaFromState collects the media the installer steps wrote;
// a cloud-image build (no cdromInterface) has none.
func installerMediaFromState(cdromInterface string, state multistep.StateBag) qemu.InstallerMedia {
	if cdromInterface == "" {
		return qemu.InstallerMedia{}
	}
	return qemu.InstallerMedia{
		Interface: cdromInterface,
		ISO:       keySourceImagePath.Get(state),
		CD:        keyCDPath.Get(state),
		Floppy:    keyFloppyPath.Get(state),
	}
}
