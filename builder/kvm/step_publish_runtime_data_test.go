package kvm

import (
	"context"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"
)

func TestStepPublishRuntimeData(t *testing.T) {
	state, _ := testState(t)
	state.Put("accelerator", "tcg")
	state.Put("ssh_host_port", 3022)
	(&stepPublishRuntimeData{Generated: &packerbuilderdata.GeneratedData{State: state}}).Run(context.Background(), state)
	data := state.Get("generated_data").(map[string]interface{})
	if data["Accelerator"] != "tcg" || data["SSHHostPort"] != 3022 {
		t.Fatalf("generated data %v", data)
	}
}
