// Package firmware finds UEFI firmware from QEMU's firmware descriptors:
// the JSON files distributions install in /usr/share/qemu/firmware (and
// that administrators and users add or mask in /etc/qemu/firmware and
// $XDG_CONFIG_HOME/qemu/firmware), as QEMU's docs/interop/firmware.json
// specifies them and libvirt and mkosi read them. It parses descriptors,
// merges the search directories and selects the firmware a VM can boot.
package firmware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Descriptor is one firmware descriptor file (QEMU's @Firmware). Fields the
// selection does not use (description, tags) are kept for messages only.
type Descriptor struct {
	Description string `json:"description"`
	// InterfaceTypes are the firmware-OS interfaces ("bios", "uefi", ...).
	InterfaceTypes []string `json:"interface-types"`
	Mapping        Mapping  `json:"mapping"`
	Targets        []Target `json:"targets"`
	// Features the firmware supports and the platform requirements it
	// presents ("secure-boot", "requires-smm", ...).
	Features []string `json:"features"`
	Tags     []string `json:"tags"`
}

// Mapping says how the firmware is loaded (QEMU's @FirmwareMapping): with
// Device "flash", Executable and (in "split" mode) NVRAMTemplate; with
// "memory" or "kernel", Filename.
type Mapping struct {
	Device string `json:"device"`
	// Mode is "split", "combined" or "stateless" for flash; an absent mode
	// is "split" (the spec's historical default).
	Mode          string     `json:"mode"`
	Executable    *FlashFile `json:"executable"`
	NVRAMTemplate *FlashFile `json:"nvram-template"`
	Filename      string     `json:"filename"`
}

// FlashFile is a file mapped into a pflash chip, in a QEMU block format
// ("raw" or "qcow2" in practice).
type FlashFile struct {
	Filename string `json:"filename"`
	Format   string `json:"format"`
}

// Target is an emulator architecture and the machine types (glob
// patterns such as "pc-q35-*") that run the firmware.
type Target struct {
	Architecture string   `json:"architecture"`
	Machines     []string `json:"machines"`
}

// Flash mapping modes.
const (
	ModeSplit     = "split"
	ModeCombined  = "combined"
	ModeStateless = "stateless"
)

// maxDescriptorSize bounds what is read of one descriptor: real ones are
// under 2 KiB.
const maxDescriptorSize = 1 << 20

// ParseDescriptor decodes and checks one descriptor. It rejects what the
// spec makes mandatory when it is missing (interface types, the mapping's
// device, a flash mapping's executable and, in split mode, its NVRAM
// template, each with a file name and a format; the targets' architecture)
// and accepts values it does not know (new features, interfaces and
// devices are how the spec grows): selection skips what it cannot use.
func ParseDescriptor(data []byte) (*Descriptor, error) {
	if len(data) > maxDescriptorSize {
		return nil, fmt.Errorf("descriptor is %d bytes, more than the %d a descriptor can be", len(data), maxDescriptorSize)
	}
	var d Descriptor
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("not a firmware descriptor: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a firmware descriptor: data after the JSON object")
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (d *Descriptor) check() error {
	if len(d.InterfaceTypes) == 0 {
		return errors.New(`no "interface-types"`)
	}
	m := &d.Mapping
	switch m.Device {
	case "":
		return errors.New(`no "mapping" "device"`)
	case "flash":
		switch m.Mode {
		case "", ModeSplit, ModeCombined, ModeStateless:
		default:
			return fmt.Errorf("unknown flash mode %q", m.Mode)
		}
		if err := m.Executable.check("executable"); err != nil {
			return err
		}
		if m.FlashMode() == ModeSplit {
			if err := m.NVRAMTemplate.check("nvram-template"); err != nil {
				return err
			}
		}
	case "memory", "kernel":
		if m.Filename == "" {
			return fmt.Errorf(`%s mapping has no "filename"`, m.Device)
		}
	}
	if d.Targets == nil {
		return errors.New(`no "targets"`)
	}
	for _, t := range d.Targets {
		if t.Architecture == "" {
			return errors.New(`a target has no "architecture"`)
		}
	}
	return nil
}

func (f *FlashFile) check(name string) error {
	switch {
	case f == nil:
		return fmt.Errorf("flash mapping has no %q", name)
	case f.Filename == "":
		return fmt.Errorf("flash mapping's %q has no \"filename\"", name)
	case f.Format == "":
		return fmt.Errorf("flash mapping's %q has no \"format\"", name)
	}
	return nil
}

// FlashMode is the flash mapping's mode, "split" when the file names none.
func (m Mapping) FlashMode() string {
	if m.Mode == "" {
		return ModeSplit
	}
	return m.Mode
}

// HasFeature reports whether the descriptor lists the feature.
func (d *Descriptor) HasFeature(name string) bool { return slices.Contains(d.Features, name) }

// HasInterface reports whether the firmware exposes the interface type.
func (d *Descriptor) HasInterface(name string) bool { return slices.Contains(d.InterfaceTypes, name) }
