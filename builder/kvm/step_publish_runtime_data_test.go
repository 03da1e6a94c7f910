package kvm

import (
	"context"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"
)

func TestStepPublishRuntimeData(t *testing.T) {
	state, _ := testState(t)
	keyAccelerator.Put(state, "tcg")
	keySSHHostPort.Put(state, 3022)
	(&stepPublishRuntimeData{Generated: &packerbuilderdata.GeneratedData{State: state}}).Run(context.Background(), state)
	data := keyGeneratedData.Get(state)
	if data["Accelerator"] != "tcg" || data["SSHHostPort"] != 3022 {
		t.Fatalf("generated data %v", data)
	}
}
