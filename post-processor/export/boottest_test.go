package export

import (
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/boottest"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

func TestConfigure_bootTestDefaults(t *testing.T) {
	p := configure(t, map[string]interface{}{"target": []map[string]interface{}{{"format": "vdi"}, {"format": "raw", "boot_test": "warn"}}})
	c := p.config
	if c.BootTest != "off" || c.BootTestTimeout != 5*time.Minute || c.BootTestMemory != 1024 {
		t.Errorf("defaults: %q %s %d", c.BootTest, c.BootTestTimeout, c.BootTestMemory)
	}
	if got := c.bootTestMode(c.Targets[0]); got != "off" {
		t.Errorf("an unset target's mode is %q, want the post-processor's off", got)
	}
	if got := c.bootTestMode(c.Targets[1]); got != "warn" {
		t.Errorf("a target's own mode is %q, want warn", got)
	}
	p = configure(t, map[string]interface{}{"boot_test": "on", "boot_test_timeout": "90s", "target": []map[string]interface{}{{"format": "vdi"}}})
	if got := p.config.bootTestMode(p.config.Targets[0]); got != "on" || p.config.BootTestTimeout != 90*time.Second {
		t.Errorf("mode %q timeout %s, want on 1m30s", got, p.config.BootTestTimeout)
	}
}

func TestConfigure_rejectsBadBootTestOptions(t *testing.T) {
	cases := map[string]struct {
		extra  map[string]interface{}
		target map[string]interface{}
		want   string
	}{
		"mode":        {map[string]interface{}{"boot_test": "fail"}, nil, `boot_test "fail"`},
		"target mode": {nil, map[string]interface{}{"boot_test": "yes"}, `target[0].boot_test "yes"`},
		"timeout":     {map[string]interface{}{"boot_test_timeout": "-1m"}, nil, "boot_test_timeout -1m0s is negative"},
		"memory":      {map[string]interface{}{"boot_test_memory": 64}, nil, "boot_test_memory 64"},
		"parallel":    {map[string]interface{}{"boot_test_parallel": -2}, nil, "boot_test_parallel -2"},
		"accelerator": {map[string]interface{}{"boot_test_accelerator": "xen"}, nil, `boot_test_accelerator "xen"`},
		"pattern":     {map[string]interface{}{"boot_test_console_pattern": "login: ("}, nil, "boot_test_console_pattern is not a regular expression"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			target := map[string]interface{}{"format": "qcow2"}
			for k, v := range c.target {
				target[k] = v
			}
			cfg := map[string]interface{}{"target": []map[string]interface{}{target}}
			for k, v := range c.extra {
				cfg[k] = v
			}
			err := (&PostProcessor{}).Configure(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one with %q", err, c.want)
			}
		})
	}
}

// The test VM takes the build's architecture, firmware and accelerator
// from its generated data; an OVA's own firmware wins.
func TestBootTestHardware_fromTheBuild(t *testing.T) {
	p := configure(t, map[string]interface{}{"target": []map[string]interface{}{{"format": "gce"}, {"format": "ova", "disk_controller": "sata", "network_adapter": "e1000", "hardware_version": 14}}})
	c := &p.config
	generated := map[string]interface{}{"Firmware": "uefi", "Accelerator": "kvm", "Architecture": "x86_64"}
	plans := []plannedOutput{{Target: c.Targets[0]}, {Target: c.Targets[1]}}
	resolveOVAHardware(plans, map[string]interface{}{"Firmware": "bios"})
	gce := c.bootTestHardware(plans[0].Target, generated)
	if gce.Disk != boottest.DiskVirtioSCSI || gce.Firmware != "uefi" || gce.Accelerator != "kvm" {
		t.Errorf("gce: %+v", gce)
	}
	ova := c.bootTestHardware(plans[1].Target, generated)
	if ova.Disk != boottest.DiskAHCI || ova.NIC != boottest.NICE1000 || ova.Firmware != "bios" {
		t.Errorf("ova: %+v, want AHCI, e1000 and the OVA's bios", ova)
	}
	if h := c.bootTestHardware(plans[0].Target, map[string]interface{}{}); h.Accelerator != "tcg" || h.Firmware != "bios" {
		t.Errorf("without generated data: %+v, want tcg and bios", h)
	}
	c.BootTestAccelerator = "tcg"
	if h := c.bootTestHardware(plans[0].Target, generated); h.Accelerator != "tcg" {
		t.Errorf("boot_test_accelerator is not honoured: %s", h.Accelerator)
	}
}

// A guest of another architecture is emulated whatever the build used.
func TestBootTestHardware_foreignArchIsEmulated(t *testing.T) {
	p := configure(t, map[string]interface{}{"target": []map[string]interface{}{{"format": "qcow2"}}})
	foreign := "aarch64"
	if strings.Contains(foreign, hostArchForTest()) {
		foreign = "x86_64"
	}
	h := p.config.bootTestHardware(p.config.Targets[0], map[string]interface{}{"Architecture": foreign, "Accelerator": "kvm"})
	if h.Accelerator != "tcg" || h.Arch != foreign {
		t.Errorf("%s guest: %+v, want tcg", foreign, h)
	}
}

func hostArchForTest() string { return qemu.HostArch() }
