//go:generate packer-sdc struct-markdown

package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// OVAOptions describe the virtual machine of an `ova` target. Unset
// values come from the kvm builder's generated data (`CPUs`, `MemoryMiB`,
// `Firmware`), else from the defaults below.
type OVAOptions struct {
	// For `ova`: the VMware virtual hardware version, written as
	// `vmx-NN`. Default 14, which vSphere/ESXi 6.7 and later and
	// Workstation 14 and later import; VirtualBox ignores it.
	HardwareVersion int `mapstructure:"hardware_version"`
	// For `ova`: virtual CPUs. Defaults to the kvm builder's `cpus`, else 2.
	CPUs int `mapstructure:"cpus"`
	// For `ova`: memory in MiB, a multiple of 4 as vSphere requires.
	// Defaults to the kvm builder's `memory` (rounded up to a multiple of
	// 4), else 2048.
	MemoryMiB int `mapstructure:"memory"`
	// For `ova`: `bios` or `efi`. Defaults to the kvm builder's `firmware`
	// (`uefi` becomes `efi`), else `bios`. vSphere and Workstation read
	// it; VirtualBox does not (it reads firmware only from its own
	// extension), so switch an EFI guest to EFI there after the import.
	Firmware string `mapstructure:"firmware"`
	// For `ova`: the disk controller, `pvscsi` (default: VMware
	// paravirtual SCSI, whose driver even trimmed cloud kernels such as
	// Debian's carry), `lsilogic` (vSphere, Workstation and VirtualBox;
	// the guest needs the `mptspi` driver) or `sata` (AHCI; hardware
	// version 10 or later; the guest needs `ahci`).
	DiskController string `mapstructure:"disk_controller"`
	// For `ova`: the network adapter, `vmxnet3` (default) or `e1000`.
	NetworkAdapter string `mapstructure:"network_adapter"`
	// For `ova`: the name of the network the adapter connects to; the
	// import maps it to a real network. Default `VM Network`.
	NetworkName string `mapstructure:"network_name"`
	// For `ova`: VMware's guest OS identifier. Default
	// `otherLinux64Guest`; for example `debian10_64Guest` or
	// `ubuntu64Guest` (the list depends on the vSphere version).
	GuestOSType string `mapstructure:"guest_os_type"`
}

const (
	defaultHardwareVersion = 14
	defaultOVACPUs         = 2
	defaultOVAMemoryMiB    = 2048
	// ustarMaxSize is the largest member the 11 octal digits of a ustar
	// header can size.
	ustarMaxSize = 1<<33 - 1
)

var guestOSTypeRE = regexp.MustCompile(`^[A-Za-z0-9_]+Guest$`)

// Accepted values of the `ova` options, in the order the docs list them
// (ovf.go maps the controllers and adapters to their OVF types).
var (
	validOVAFirmwares       = []string{"bios", "efi"}
	validOVADiskControllers = []string{"lsilogic", "pvscsi", "sata"}
	validOVANetworkAdapters = []string{"vmxnet3", "e1000"}
)

// applyOVADefaults fills an `ova` target's unset hardware options.
func (t *Target) applyOVADefaults() {
	if t.Format != "ova" {
		return
	}
	o := &t.OVAOptions
	if o.HardwareVersion == 0 {
		o.HardwareVersion = defaultHardwareVersion
	}
	if o.DiskController == "" {
		o.DiskController = "pvscsi"
	}
	if o.NetworkAdapter == "" {
		o.NetworkAdapter = "vmxnet3"
	}
	if o.NetworkName == "" {
		o.NetworkName = "VM Network"
	}
	if o.GuestOSType == "" {
		o.GuestOSType = "otherLinux64Guest"
	}
}

// validateOVA reports what does not fit an `ova` target; on other formats
// every OVA option is refused.
func (t Target) validateOVA(field func(string) string) []error {
	o := &t.OVAOptions
	if t.Format != "ova" {
		if *o != (OVAOptions{}) {
			return []error{fmt.Errorf("%s: cpus, memory, firmware, hardware_version, disk_controller, network_adapter, network_name and guest_os_type only apply to format \"ova\"", field("format"))}
		}
		return nil
	}
	var errs []error
	if t.Compression != "none" {
		errs = append(errs, fmt.Errorf("%s does not apply to format \"ova\": its streamOptimized disk is compressed already", field("compression")))
	}
	if o.HardwareVersion < 7 {
		errs = append(errs, fmt.Errorf("%s %d is too old: give 7 or later (default %d)", field("hardware_version"), o.HardwareVersion, defaultHardwareVersion))
	}
	if o.CPUs < 0 {
		errs = append(errs, fmt.Errorf("%s %d: give at least 1", field("cpus"), o.CPUs))
	}
	if o.MemoryMiB < 0 || o.MemoryMiB%4 != 0 {
		errs = append(errs, fmt.Errorf("%s %d: give MiB as a positive multiple of 4, as vSphere requires", field("memory"), o.MemoryMiB))
	}
	if o.Firmware != "" { // unset: the build's firmware
		errs = appendIfErr(errs, validate.OneOf(field("firmware"), o.Firmware, validOVAFirmwares))
	}
	errs = appendIfErr(errs, validate.OneOf(field("disk_controller"), o.DiskController, validOVADiskControllers))
	if o.DiskController == "sata" && o.HardwareVersion < 10 {
		errs = append(errs, fmt.Errorf("%s \"sata\" needs hardware_version 10 or later", field("disk_controller")))
	}
	errs = appendIfErr(errs, validate.OneOf(field("network_adapter"), o.NetworkAdapter, validOVANetworkAdapters))
	if !guestOSTypeRE.MatchString(o.GuestOSType) {
		errs = append(errs, fmt.Errorf("%s %q is not a VMware guest id such as otherLinux64Guest", field("guest_os_type"), o.GuestOSType))
	}
	return errs
}

// resolveOVAHardware fills each `ova` target's unset CPUs, memory and
// firmware from the build's generated data, else from the defaults.
func resolveOVAHardware(plans []plannedOutput, generated map[string]interface{}) {
	for i := range plans {
		o := &plans[i].Target.OVAOptions
		if plans[i].Target.Format != "ova" {
			continue
		}
		if o.CPUs == 0 {
			o.CPUs = positiveInt(generated["CPUs"], defaultOVACPUs)
		}
		if o.MemoryMiB == 0 {
			o.MemoryMiB = (positiveInt(generated["MemoryMiB"], defaultOVAMemoryMiB) + 3) &^ 3
		}
		if o.Firmware == "" {
			o.Firmware = "bios"
			if generated["Firmware"] == "uefi" || generated["Firmware"] == "efi" {
				o.Firmware = "efi"
			}
		}
	}
}

// positiveInt reads a number from generated data, which crosses Packer's
// RPC as msgpack and so arrives as any integer type (or a string).
func positiveInt(v interface{}, fallback int) int {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint8:
		n = int64(x)
	case uint16:
		n = int64(x)
	case uint32:
		n = int64(x)
	case uint64:
		n = int64(x)
	case float64:
		n = int64(x)
	case string:
		n, _ = strconv.ParseInt(x, 10, 64)
	}
	if n <= 0 || n > 1<<31 {
		return fallback
	}
	return int(n)
}

// ovaMemberNames are the file names inside the package: flat, portable
// and short enough for a ustar header (100 bytes).
func ovaMemberNames(ovaPath string) (ovf, mf, vmdk string) {
	base := strings.TrimSuffix(filepath.Base(ovaPath), ".ova")
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, base)
	if len(safe) > 88 {
		safe = safe[:88]
	}
	if strings.Trim(safe, "._") == "" {
		safe = "vm"
	}
	return safe + ".ovf", safe + ".mf", safe + "-disk1.vmdk"
}

// writeOVA packages the source as an OVA at dst: the OVF descriptor, the
// manifest and a streamOptimized VMDK, in that order (DSP0243: the
// descriptor first, then the manifest, then the files in References
// order), in a ustar archive.
func (e *exporter) writeOVA(ctx context.Context, source, sourceFormat, dst string, p plannedOutput, progress func(int)) (map[string]string, error) {
	ovfName, mfName, vmdkName := ovaMemberNames(p.Path)
	dir := filepath.Dir(dst)
	disk, err := os.CreateTemp(dir, ".ova-disk-*.vmdk")
	if err != nil {
		return nil, err
	}
	disk.Close()
	defer os.Remove(disk.Name())
	// vSphere's import spec sizes disks in KiB (capacityInKB) and would
	// cut a partial KiB off: the disk is grown to a whole MiB.
	capacity := (e.SourceInfo.VirtualSize + 1<<20 - 1) &^ (1<<20 - 1)
	streamOptimized := Target{Format: "vmdk", Subformat: "streamOptimized"}
	if err := e.convert(ctx, streamOptimized, source, sourceFormat, disk.Name(), vmdkName, capacity, progress); err != nil {
		return nil, err
	}
	desc := ovfDescriptor{Name: strings.TrimSuffix(filepath.Base(p.Path), ".ova"), DiskFile: vmdkName}
	desc.withHardware(p.Target.OVAOptions)
	diskSum, err := e.describeDisk(ctx, disk.Name(), &desc)
	if err != nil {
		return nil, err
	}
	descriptor, err := desc.render()
	if err != nil {
		return nil, err
	}
	manifest := fmt.Sprintf("SHA256(%s)= %s\nSHA256(%s)= %s\n", ovfName, sha256Hex(descriptor), vmdkName, diskSum)
	return writeOVATar(ctx, dst, []ovaMember{
		{Name: ovfName, Data: descriptor},
		{Name: mfName, Data: []byte(manifest)},
		{Name: vmdkName, Path: disk.Name(), Size: desc.DiskFileSize},
	}, e.outputTime(), e.Checksum == "sha512")
}

// describeDisk fills the descriptor's disk sizes from the VMDK and
// returns the VMDK's SHA-256.
func (e *exporter) describeDisk(ctx context.Context, vmdk string, d *ovfDescriptor) (string, error) {
	info, err := e.QemuImg.Info(ctx, vmdk)
	if err != nil {
		return "", err
	}
	if d.PopulatedSize, err = e.QemuImg.DataBytes(ctx, vmdk); err != nil {
		return "", err
	}
	st, err := os.Stat(vmdk)
	if err != nil {
		return "", err
	}
	d.Capacity, d.DiskFileSize = info.VirtualSize, st.Size()
	sum, _, err := fileutil.SHA256(vmdk)
	return sum, err
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
