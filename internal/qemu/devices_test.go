package qemu

import (
	"strings"
	"testing"
)

func hardwareMedia(disks ...string) Media {
	m := testMedia()
	m.AdditionalDisks = disks
	return m
}

func TestQemuArgs_diskInterfaces(t *testing.T) {
	for iface, want := range map[string][]string{
		"virtio-blk": {
			"-drive file=/o/disk.qcow2,if=none,id=disk0,format=qcow2,cache=writeback,discard=unmap,detect-zeroes=unmap -device virtio-blk-pci,drive=disk0,bootindex=0",
			"-drive file=/o/d1.qcow2,if=none,id=disk1,format=qcow2,cache=writeback,discard=unmap,detect-zeroes=unmap -device virtio-blk-pci,drive=disk1 ",
		},
		"virtio-scsi": {
			"-device virtio-scsi-pci,id=scsi0",
			"-device scsi-hd,bus=scsi0.0,scsi-id=0,drive=disk0,bootindex=0",
			"-device scsi-hd,bus=scsi0.0,scsi-id=1,drive=disk1 ",
		},
		"nvme": {
			"-device nvme,drive=disk0,serial=packer-disk0,bootindex=0",
			"-device nvme,drive=disk1,serial=packer-disk1 ",
		},
		"sata": {
			"-device ich9-ahci,id=sata0",
			"-device ide-hd,bus=sata0.0,drive=disk0,bootindex=0",
			"-device ide-hd,bus=sata0.1,drive=disk1 ",
		},
		"ide": {
			"-device ide-hd,bus=ide.0,unit=0,drive=disk0,bootindex=0",
			"-device ide-hd,bus=ide.0,unit=1,drive=disk1 ",
		},
	} {
		t.Run(iface, func(t *testing.T) {
			spec := testSpec()
			spec.Hardware = Hardware{MachineType: "q35", DiskInterface: iface}
			cmdline := strings.Join(Args(spec, hardwareMedia("/o/d1.qcow2")), " ")
			for _, w := range want {
				if !strings.Contains(cmdline, w) {
					t.Errorf("command line lacks %q:\n%s", w, cmdline)
				}
			}
			// The seed stays a virtio disk whatever the build's disks are.
			if !strings.Contains(cmdline, "id=seed,format=raw,readonly=on -device virtio-blk-pci,drive=seed") {
				t.Errorf("seed disk missing:\n%s", cmdline)
			}
			if strings.Count(cmdline, "bootindex=") != 1 {
				t.Errorf("only the build's disk boots:\n%s", cmdline)
			}
		})
	}
}

func TestQemuArgs_diskOptionsAndEscapedPaths(t *testing.T) {
	spec := testSpec()
	spec.Hardware = Hardware{DiskCache: "none", DiskDiscard: "ignore", DiskDetectZeroes: "off"}
	m := testMedia()
	m.Overlay = "/o/a,b/disk.qcow2"
	cmdline := strings.Join(Args(spec, m), " ")
	if !strings.Contains(cmdline, "file=/o/a,,b/disk.qcow2,if=none,id=disk0,format=qcow2,cache=none,discard=ignore,detect-zeroes=off") {
		t.Fatalf("disk options not applied:\n%s", cmdline)
	}
}

func TestQemuArgs_netDevices(t *testing.T) {
	for nic, want := range map[string]string{
		"":           "-device virtio-net-pci,netdev=net0",
		"virtio-net": "-device virtio-net-pci,netdev=net0",
		"e1000":      "-device e1000,netdev=net0",
		"e1000e":     "-device e1000e,netdev=net0",
		"vmxnet3":    "-device vmxnet3,netdev=net0",
		"rtl8139":    "-device rtl8139,netdev=net0",
	} {
		spec := testSpec()
		spec.Hardware = Hardware{NetDevice: nic}
		cmdline := strings.Join(Args(spec, testMedia()), " ")
		if !strings.Contains(cmdline, want+" ") || !strings.Contains(cmdline, "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:3022-:22") {
			t.Errorf("net_device %q: want %q on\n%s", nic, want, cmdline)
		}
	}
	spec := testSpec()
	spec.Hardware = Hardware{NetDevice: "e1000", MACAddress: "00-50-56-AB-CD-EF"}
	if cmdline := strings.Join(Args(spec, testMedia()), " "); !strings.Contains(cmdline, "-device e1000,netdev=net0,mac=00:50:56:ab:cd:ef") {
		t.Errorf("mac_address not applied:\n%s", cmdline)
	}
}

func TestQemuArgs_secureBootTurnsOnSMMAndSecureFlash(t *testing.T) {
	spec := testSpec()
	m := testMedia()
	m.EFICode, m.EFIVars = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/o/efivars.fd"
	plain := strings.Join(Args(spec, m), " ")
	if strings.Contains(plain, "smm=on") || strings.Contains(plain, "cfi.pflash01") {
		t.Fatalf("Secure Boot options without secure_boot:\n%s", plain)
	}
	spec.Hardware = Hardware{MachineType: "q35", SecureBoot: true}
	cmdline := strings.Join(Args(spec, m), " ")
	for _, want := range []string{"-machine q35 ", "-machine smm=on", "-global driver=cfi.pflash01,property=secure,value=on"} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
}

func TestQemuArgs_tpmDeviceFollowsTheMachine(t *testing.T) {
	if cmdline := strings.Join(Args(testSpec(), testMedia()), " "); strings.Contains(cmdline, "tpm") {
		t.Fatalf("a TPM without tpm = true:\n%s", cmdline)
	}
	for machine, dev := range map[string]string{"q35": "tpm-crb", "pc-q35-7.2": "tpm-crb", "pc": "tpm-tis", "virt": "tpm-tis-device"} {
		spec := testSpec()
		spec.Hardware = Hardware{MachineType: machine}
		m := testMedia()
		m.TPMSocket = "/tmp/t/swtpm.sock"
		cmdline := strings.Join(Args(spec, m), " ")
		want := "-chardev socket,id=chrtpm,path=/tmp/t/swtpm.sock -tpmdev emulator,id=tpm0,chardev=chrtpm -device " + dev + ",tpmdev=tpm0"
		if !strings.Contains(cmdline, want) {
			t.Errorf("machine %s: want %q in\n%s", machine, want, cmdline)
		}
	}
}

// The official qemu builder drops its own disk when qemuargs has a -drive
// (hashicorp/packer-plugin-qemu#58, #221); here qemuargs only ever add.
func TestQemuArgs_qemuargsAppendAndNeverDropTheBuildersDevices(t *testing.T) {
	spec := testSpec()
	spec.Hardware = Hardware{DiskInterface: "nvme", NetDevice: "e1000"}
	spec.QemuArgs = [][]string{
		{"-drive", "file=/data/extra.img,if=none,id=extra,format=raw"},
		{"-device", "virtio-blk-pci,drive=extra"},
		{"-netdev", "user,id=net1"},
		{"-device", "virtio-net-pci,netdev=net1"},
	}
	m := hardwareMedia("/o/d1.qcow2")
	m.TPMSocket = "/tmp/t/swtpm.sock"
	args := Args(spec, m)
	cmdline := strings.Join(args, " ")
	for _, want := range []string{
		"id=disk0", "nvme,drive=disk0", "id=disk1", "nvme,drive=disk1", "id=seed", "virtio-blk-pci,drive=seed",
		"-netdev user,id=net0,hostfwd", "e1000,netdev=net0", "tpm-crb,tpmdev=tpm0", "virtio-rng-pci",
	} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("the builder's %q is gone when qemuargs adds devices:\n%s", want, cmdline)
		}
	}
	tail := strings.Join(args[len(args)-8:], " ")
	if tail != "-drive file=/data/extra.img,if=none,id=extra,format=raw -device virtio-blk-pci,drive=extra -netdev user,id=net1 -device virtio-net-pci,netdev=net1" {
		t.Errorf("qemuargs must come last, in order: %s", tail)
	}
}
