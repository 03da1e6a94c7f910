//go:generate packer-sdc struct-markdown

package kvm

import (
	"errors"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/bootscript"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// BootSerialConfig: how an installer build's boot command reaches the guest
// and waits for it (the "Boot command" section of the docs).
type BootSerialConfig struct {
	// Where the boot command is typed: `vnc` (default), as key presses on
	// the VM's display, or `serial`, as the bytes a serial terminal sends
	// on the guest's first serial port, for boot loaders and installers
	// that read a serial console (GRUB with `terminal_input serial`,
	// ISOLINUX with `serial 0 115200`). With `serial` the VM needs no VNC
	// display (set `vnc = true` to watch it anyway); keys without a byte
	// sequence on a terminal (`<leftSuper>`, `<menu>`) are refused.
	// `boot_key_interval` defaults to 10ms there.
	BootCommandInput string `mapstructure:"boot_command_input"`
	// How long a `<waitSerial 'REGEXP'>` in the boot command waits for the
	// serial console to print text matching REGEXP, unless the token gives
	// its own (`<waitSerial 'REGEXP' 2m>`). Defaults to `5m`.
	BootSerialTimeout time.Duration `mapstructure:"boot_serial_timeout"`
}

var validBootCommandInputs = []string{"vnc", "serial"}

// defaultBootSerialTimeout is long enough for firmware and a boot menu
// under TCG on a loaded host.
const defaultBootSerialTimeout = 5 * time.Minute

func (c *Config) applyBootSerialDefaults() {
	setDefault(&c.BootCommandInput, "vnc")
	if c.BootSerialTimeout == 0 {
		c.BootSerialTimeout = defaultBootSerialTimeout
	}
}

// typesOverSerial: the boot command goes to the serial console.
func (c *Config) typesOverSerial() bool {
	return c.BootCommandInput == "serial"
}

// prepareBootCommand is the SDK's Prepare of boot_command and boot_wait.
// Typed over serial the boot command needs no VNC display, so the SDK's
// refusal of disable_vnc with a boot command does not apply. A boot
// command that starts with a <waitSerial> waits for the guest instead of
// guessing: boot_wait then defaults to none rather than the SDK's 10s
// (which a boot_wait of "0s" cannot undo, the SDK reading 0 as unset).
func (c *Config) prepareBootCommand() []error {
	noBootWait := c.VNCConfig.BootWait == 0 && c.startsWithWaitSerial()
	var errs []error
	if c.typesOverSerial() {
		errs = c.VNCConfig.BootConfig.Prepare(&c.ctx)
	} else {
		errs = c.VNCConfig.Prepare(&c.ctx)
	}
	if noBootWait {
		c.VNCConfig.BootWait = 0
	}
	return errs
}

// startsWithWaitSerial: the boot command's first step is a <waitSerial>.
func (c *Config) startsWithWaitSerial() bool {
	steps, err := bootscript.Parse(c.VNCConfig.FlatBootCommand())
	return err == nil && len(steps) > 0 && steps[0].Wait != nil
}

// validateBootSerial checks boot_command_input and the boot command's
// <waitSerial> tokens.
func (c *Config) validateBootSerial() []error {
	var errs []error
	if c.BootCommandInput != "vnc" && !c.installer {
		errs = append(errs, errors.New("boot_command_input only applies to installer builds (iso_url): a cloud image is configured by cloud-init, remove it"))
	}
	errs = appendIfErr(errs, validate.OneOf("boot_command_input", c.BootCommandInput, validBootCommandInputs))
	if _, err := bootscript.Parse(c.VNCConfig.FlatBootCommand()); err != nil {
		errs = append(errs, err)
	}
	return errs
}
