package kvm

import "github.com/kvmforge/packer-plugin-kvm/internal/qemu"

// installerMediaFromState collects the media the installer steps wrote;
// a cloud-image build (no cdromInterface) has none.
func installerMediaFromState(cdromInterface string, state interface {
	GetOk(string) (interface{}, bool)
}) qemu.InstallerMedia {
	if cdromInterface == "" {
		return qemu.InstallerMedia{}
	}
	get := func(key string) string {
		v, _ := state.GetOk(key)
		s, _ := v.(string)
		return s
	}
	return qemu.InstallerMedia{
		Interface: cdromInterface,
		ISO:       get("source_image_path"),
		CD:        get("cd_path"),
		Floppy:    get("floppy_path"),
	}
}
