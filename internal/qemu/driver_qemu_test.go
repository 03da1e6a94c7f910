package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewQemuDriver_namesThePackageToInstall(t *testing.T) {
	_, err := NewQemuDriver("qemu-system-nonexistent", "qemu-img-nonexistent")
	if err == nil {
		t.Fatal("missing binaries accepted")
	}
	for _, want := range []string{"qemu-system-nonexistent", "qemu-img-nonexistent", "apt-get install qemu-utils", "qemu-system-x86"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func realDriver(t *testing.T) *QemuDriver {
	t.Helper()
	d, err := NewQemuDriver("qemu-system-"+HostArch(), "qemu-img")
	if err != nil {
		t.Skipf("QEMU is not installed (make deps): %v", err)
	}
	return d
}

// The driver against a real QEMU: start an empty machine, read its QMP
// status, stop it.
func TestQemuDriver_startStatusStop(t *testing.T) {
	d := realDriver(t)
	dir, err := os.MkdirTemp("", "packer-kvm-drivertest-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	socket := filepath.Join(dir, "qmp.sock")
	vm, err := d.Start([]string{"-accel", "tcg", "-machine", "q35", "-m", "64M", "-nodefaults", "-display", "none",
		"-qmp", "unix:" + socket + ",server=on,wait=off"}, socket)
	if err != nil {
		t.Fatal(err)
	}
	status, err := vm.Status(context.Background())
	if err != nil || status != "running" {
		t.Fatalf("status %q, err %v", status, err)
	}
	if err := vm.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-vm.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("QEMU still runs after Stop")
	}
}

func TestQemuDriver_startReportsQEMUsOwnError(t *testing.T) {
	d := realDriver(t)
	dir := t.TempDir()
	_, err := d.Start([]string{"-machine", "no-such-machine", "-qmp", "unix:" + filepath.Join(dir, "q.sock") + ",server=on,wait=off"}, filepath.Join(dir, "q.sock"))
	if err == nil || !strings.Contains(err.Error(), "unsupported machine type") {
		t.Fatalf("error %v does not carry QEMU's message", err)
	}
}

func TestQemuDriver_imageInfoAndOverlay(t *testing.T) {
	d := realDriver(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", base, "64M").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	overlay := filepath.Join(dir, "overlay.qcow2")
	if err := d.CreateOverlay(context.Background(), base, "qcow2", overlay, 128<<20); err != nil {
		t.Fatal(err)
	}
	info, err := d.ImageInfo(context.Background(), overlay, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" || info.VirtualSize != 128<<20 || info.BackingFile != base {
		t.Fatalf("overlay info %+v", info)
	}
}

func TestQemuDriver_probeWithoutKVMDevice(t *testing.T) {
	if _, err := os.Stat("/dev/kvm"); err == nil {
		t.Skip("this host has /dev/kvm; the probe's answer depends on it")
	}
	d := realDriver(t)
	start := time.Now()
	err := d.ProbeKVM(context.Background(), "q35", "host", 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "/dev/kvm") {
		t.Fatalf("error %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("a missing /dev/kvm should be known at once")
	}
}

// qemu-img check tells a whole qcow2 from one cut short, as a download
// interrupted mid-way leaves it.
func TestQemuDriver_checkImageFindsATruncatedQcow2(t *testing.T) {
	d := realDriver(t)
	dir := t.TempDir()
	raw := filepath.Join(dir, "data.raw")
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i*7 + i/4096)
	}
	os.WriteFile(raw, data, 0o644)
	image := filepath.Join(dir, "image.qcow2")
	if out, err := exec.Command("qemu-img", "convert", "-O", "qcow2", raw, image).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if err := d.CheckImage(context.Background(), image, "qcow2"); err != nil {
		t.Fatalf("a whole image failed the check: %v", err)
	}
	os.Truncate(image, 2<<20)
	err := d.CheckImage(context.Background(), image, "qcow2")
	if err == nil || !strings.Contains(err.Error(), "corruptions") {
		t.Fatalf("a truncated image passed the check: %v", err)
	}
	if err := d.CheckImage(context.Background(), raw, "raw"); err != nil {
		t.Fatalf("raw has nothing to check, yet: %v", err)
	}
}

// QMP events reach Events(), and reading them never blocks the monitor's
// commands.
func TestQemuDriver_deliversQMPEvents(t *testing.T) {
	d := realDriver(t)
	dir, err := os.MkdirTemp("", "packer-kvm-drivertest-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	socket := filepath.Join(dir, "qmp.sock")
	vm, err := d.Start([]string{"-accel", "tcg", "-machine", "q35", "-m", "64M", "-nodefaults", "-display", "none",
		"-qmp", "unix:" + socket + ",server=on,wait=off"}, socket)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Stop()
	if _, err := vm.(*qemuVM).run("stop"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-vm.Events():
		if e.Name != "STOP" {
			t.Fatalf("first event %q, want STOP", e.Name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no STOP event")
	}
	if status, err := vm.Status(context.Background()); err != nil || status != "paused" {
		t.Fatalf("status %q, %v after stop", status, err)
	}
	vm.Stop()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, open := <-vm.Events():
			if !open {
				return
			}
		case <-timeout:
			t.Fatal("the events channel stayed open after QEMU ended")
		}
	}
}
