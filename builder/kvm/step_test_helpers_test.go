package kvm

import (
	"bytes"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

// testState is a state bag with a buffered UI and a mock driver.
func testState(t *testing.T) (*multistep.BasicStateBag, *qemumock.DriverMock) {
	t.Helper()
	state := new(multistep.BasicStateBag)
	driver := &qemumock.DriverMock{}
	keyDriver.Put(state, driver)
	keyUI.Put(state, &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)})
	return state, driver
}

// runVMState is a state bag ready for stepRunVM, with the work directory
// it returns: TCG, the overlay and seed in the work directory, the SSH port
// 2999 reserved, and a mock VM for the driver to start.
func runVMState(t *testing.T) (*multistep.BasicStateBag, *qemumock.DriverMock, string) {
	t.Helper()
	state, driver := testState(t)
	dir := t.TempDir()
	keyWorkDir.Put(state, dir)
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, dir+"/disk.qcow2")
	keySeedPath.Put(state, dir+"/seed.iso")
	keySSHHostPort.Put(state, 2999)
	driver.VM = qemumock.NewVMMock()
	return state, driver, dir
}

func stateErr(state multistep.StateBag) error {
	return keyError.Get(state)
}

// uiOutput is what the steps said on the test UI.
func uiOutput(state multistep.StateBag) string {
	ui := keyUI.Get(state).(*packersdk.BasicUi)
	return ui.Writer.(*bytes.Buffer).String() + ui.ErrorWriter.(*bytes.Buffer).String()
}

// realDriver is the QEMU driver of this host's emulator; the test is
// skipped where QEMU is not installed.
func realDriver(t *testing.T) *qemu.QemuDriver {
	t.Helper()
	d, err := qemu.NewQemuDriver(defaultQemuBinary(), "qemu-img")
	if err != nil {
		t.Skipf("QEMU is not installed (make deps): %v", err)
	}
	return d
}
