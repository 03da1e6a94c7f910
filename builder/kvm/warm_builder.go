package kvm

import (
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
	"github.com/kvmforge/packer-plugin-kvm/version"
)

// warmRestore is the warm-start step with the configuration's part of the
// cache key: everything in the template that changes the booted guest.
func (b *Builder) warmRestore(hostname string, revoke *stepRevokeBuildAccess) *stepWarmRestore {
	c := &b.config
	return &stepWarmRestore{
		Enabled:        c.WarmStart,
		CacheDir:       func() (string, error) { return packersdk.CachePath() },
		SourceChecksum: c.SourceImageChecksum,
		Comm:           &c.Comm,
		Revoke:         revoke,
		Texts:          warmstart.Texts{Password: c.Comm.SSHPassword, UserData: c.UserData, NetworkConfig: c.NetworkConfig},
		Inputs: warmstart.KeyInputs{
			SeedHostname:  hostname,
			SeedUser:      c.Comm.SSHUsername,
			SeedFastBoot:  c.FastBoot.True() || c.FastBoot == 0,
			Machine:       c.MachineType,
			CPU:           c.CPUModel,
			CPUs:          c.CPUs,
			MemoryMiB:     c.Memory,
			Firmware:      c.Firmware,
			DiskSize:      c.diskSizeBytes,
			Hardware:      c.hardware(),
			Arch:          c.arch.Name,
			VNC:           c.VNC,
			QemuArgs:      warmstart.QemuArgsInput(c.QemuArgs),
			PluginVersion: version.PluginVersion.String(),
		},
	}
}
