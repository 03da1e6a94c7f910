package kvm

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func TestStepWaitCloudInit(t *testing.T) {
	cases := []struct {
		exit   int
		action multistep.StepAction
		want   string
	}{
		{0, multistep.ActionContinue, ""},
		{2, multistep.ActionContinue, ""},
		{1, multistep.ActionHalt, "cloud-init failed in the guest"},
	}
	for _, tc := range cases {
		state, _ := testState(t)
		comm := &packersdk.MockCommunicator{StartStdout: "status: error\ndetail: locale\n", StartExitStatus: tc.exit}
		keyCommunicator.Put(state, comm)
		action := (&stepWaitCloudInit{Enabled: true}).Run(context.Background(), state)
		if action != tc.action {
			t.Fatalf("exit %d: action %v (err %v)", tc.exit, action, stateErr(state))
		}
		if !strings.Contains(comm.StartCmd.Command, "cloud-init status --wait") {
			t.Fatalf("ran %q", comm.StartCmd.Command)
		}
		if tc.want != "" && !strings.Contains(stateErr(state).Error(), tc.want) {
			t.Fatalf("error %v", stateErr(state))
		}
	}
}

func TestStepWaitCloudInit_disabledRunsNothing(t *testing.T) {
	state, _ := testState(t)
	comm := &packersdk.MockCommunicator{}
	keyCommunicator.Put(state, comm)
	(&stepWaitCloudInit{Enabled: false}).Run(context.Background(), state)
	if comm.StartCalled {
		t.Fatal("wait_for_cloud_init = false still waited")
	}
}
