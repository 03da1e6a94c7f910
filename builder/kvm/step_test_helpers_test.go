package kvm

import (
	"bytes"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// testState is a state bag with a buffered UI and a mock driver.
func testState(t *testing.T) (*multistep.BasicStateBag, *DriverMock) {
	t.Helper()
	state := new(multistep.BasicStateBag)
	driver := &DriverMock{}
	keyDriver.Put(state, driver)
	keyUI.Put(state, &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)})
	return state, driver
}

func stateErr(state multistep.StateBag) error {
	return keyError.Get(state)
}

// uiOutput is what the steps said on the test UI.
func uiOutput(state multistep.StateBag) string {
	ui := keyUI.Get(state).(*packersdk.BasicUi)
	return ui.Writer.(*bytes.Buffer).String() + ui.ErrorWriter.(*bytes.Buffer).String()
}
