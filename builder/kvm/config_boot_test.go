package kvm

import (
	"strings"
	"testing"
	"time"
)

func TestConfigBoot_defaultsAndSerialInput(t *testing.T) {
	c, _, err := prepare(t, isoConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.BootCommandInput != "vnc" || c.BootSerialTimeout != 5*time.Minute || c.VNCConfig.BootWait != 10*time.Second {
		t.Fatalf("defaults: input %q, serial timeout %s, boot_wait %s", c.BootCommandInput, c.BootSerialTimeout, c.VNCConfig.BootWait)
	}
	// Typed over serial, the boot command needs no VNC display.
	c, _, err = prepare(t, with(isoConfig(t), map[string]interface{}{
		"boot_command_input":  "serial",
		"disable_vnc":         true,
		"boot_wait":           "0s",
		"boot_serial_timeout": "90s",
		"boot_command":        []string{"<waitSerial 'Install Debian'>e<WAITSERIAL 'setparams \\x27' 2m><end> url=http://{{ .HTTPIP }}/<f10>"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.typesOverSerial() || c.BootSerialTimeout != 90*time.Second {
		t.Fatalf("input %q, timeout %s", c.BootCommandInput, c.BootSerialTimeout)
	}
	// The leading <waitSerial> replaces boot_wait's guess.
	if c.VNCConfig.BootWait != 0 {
		t.Fatalf("boot_wait %s before a <waitSerial>", c.VNCConfig.BootWait)
	}
	c, _, err = prepare(t, with(isoConfig(t), map[string]interface{}{
		"boot_command": []string{"<waitSerial 'boot:'>x"}, "boot_wait": "3s",
	}))
	if err != nil || c.VNCConfig.BootWait != 3*time.Second {
		t.Fatalf("a boot_wait set with a <waitSerial> became %s (%v)", c.VNCConfig.BootWait, err)
	}
}

func TestConfigBoot_invalid(t *testing.T) {
	iso := isoConfig(t)
	for name, tc := range map[string]struct {
		raw     map[string]interface{}
		mention string
	}{
		"unknown input":       {with(iso, map[string]interface{}{"boot_command_input": "usb"}), `boot_command_input "usb"`},
		"input without ISO":   {map[string]interface{}{"boot_command_input": "serial"}, "boot_command_input only applies to installer builds"},
		"bad regexp":          {with(iso, map[string]interface{}{"boot_command": []string{"<waitSerial 'a(b'>"}}), "<waitSerial 'a(b'>: the pattern is not an RE2 regexp"},
		"bad duration":        {with(iso, map[string]interface{}{"boot_command": []string{"<waitSerial 'boot:' 5 minutes>"}}), `"5 minutes" is not a positive duration`},
		"unterminated token":  {with(iso, map[string]interface{}{"boot_command": []string{"<waitSerial 'boot:' 2m", "<enter>"}}), "no closing '>'"},
		"negative timeout":    {with(iso, map[string]interface{}{"boot_serial_timeout": "-1s"}), "boot_serial_timeout is negative"},
		"vnc and disable_vnc": {with(iso, map[string]interface{}{"disable_vnc": true}), "vnc is disabled"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := prepare(t, tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %v does not mention %q", err, tc.mention)
			}
		})
	}
}
