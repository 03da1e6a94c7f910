package kvm

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepWaitCloudInit waits for cloud-init to finish before provisioning, so
// provisioners never race its user creation, package installs or apt locks.
//
// It reads ui and communicator.
type stepWaitCloudInit struct {
	Enabled bool
}

func (s *stepWaitCloudInit) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if !s.Enabled {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	comm := keyCommunicator.Get(state)
	ui.Say("Waiting for cloud-init to finish...")

	var out bytes.Buffer
	cmd := &packersdk.RemoteCmd{
		// Images without cloud-init are fine: there is nothing to wait for.
		Command: "if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait --long; else echo 'status: not installed'; fi",
		Stdout:  &out,
		Stderr:  &out,
	}
	if err := cmd.RunWithUi(ctx, comm, quietUi{ui}); err != nil {
		return halt(state, fmt.Errorf("waiting for cloud-init: %w", err))
	}
	switch code := cmd.ExitStatus(); code {
	case 0:
		ui.Say("cloud-init is done")
	case 2:
		// cloud-init 23.4+ says "degraded done": finished with warnings.
		ui.Error("Warning: cloud-init finished with warnings:\n" + strings.TrimSpace(out.String()))
	default:
		return halt(state, fmt.Errorf("cloud-init failed in the guest (exit %d):\n%s\nSee /var/log/cloud-init.log in the guest, or the user_data you passed", code, strings.TrimSpace(out.String())))
	}
	return multistep.ActionContinue
}

func (s *stepWaitCloudInit) Cleanup(multistep.StateBag) {}

// quietUi keeps a command's output out of the build log; the step reports
// it itself when it matters.
type quietUi struct{ packersdk.Ui }

func (quietUi) Message(string) {}
func (quietUi) Say(string)     {}
