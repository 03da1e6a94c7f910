package kvm

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/guestaccess"
)

// stepRevokeBuildAccess takes away, before shutdown, the access the builder
// gave itself: the temporary SSH key (unless KeyComment is empty), and
// unless Keep the passwordless sudo rule, the build hostname in /etc/hosts
// and /etc/hostname, cloud-init's copies of the build's user-data and,
// with Password, the password and SSH password authentication (see
// internal/guestaccess). It runs as root through sudo; when sudo is gone (the
// build user was removed by kvm-sysprep's user-account operation), it
// removes the key it can reach and warns. It reads the state keys ui,
// communicator and instance_id.
type stepRevokeBuildAccess struct {
	User       string
	KeyComment string
	Hostname   string
	Password   bool
	Keep       bool
}

func (s *stepRevokeBuildAccess) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	comm := keyCommunicator.Get(state)
	instanceID := keyInstanceID.Get(state)
	if s.KeyComment == "" && s.Keep {
		return multistep.ActionContinue
	}
	ui.Say("Removing the build's access from the guest...")
	script := guestaccess.Revocation{User: s.User, KeyComment: s.KeyComment, Hostname: s.Hostname, InstanceID: instanceID,
		Password: s.Password, Keep: s.Keep}.Script()
	asRoot := "sh -c " + guestaccess.ShellQuote(script)
	if s.User != "root" {
		probe := &packersdk.RemoteCmd{Command: "sudo -n true >/dev/null 2>&1"}
		if err := probe.RunWithUi(ctx, comm, ui); err != nil || probe.ExitStatus() != 0 {
			return s.withoutRoot(ctx, comm, ui, state)
		}
		asRoot = "sudo -n " + asRoot
	}
	cmd := &packersdk.RemoteCmd{Command: asRoot}
	if err := cmd.RunWithUi(ctx, comm, ui); err != nil {
		return halt(state, fmt.Errorf("removing the build's access: %w", err))
	}
	if cmd.ExitStatus() != 0 {
		return halt(state, fmt.Errorf("removing the build's access failed (exit status %d): set keep_build_access = true to keep it on purpose", cmd.ExitStatus()))
	}
	return multistep.ActionContinue
}

// withoutRoot handles a build user that cannot use sudo any more.
func (s *stepRevokeBuildAccess) withoutRoot(ctx context.Context, comm packersdk.Communicator, ui packersdk.Ui, state multistep.StateBag) multistep.StepAction {
	if s.KeyComment != "" {
		keyOnly := guestaccess.Revocation{User: s.User, KeyComment: s.KeyComment, Hostname: s.Hostname, Keep: true}
		cmd := &packersdk.RemoteCmd{Command: "sh -c " + guestaccess.ShellQuote(keyOnly.Script())}
		cmd.RunWithUi(ctx, comm, ui)
	}
	if s.Keep {
		return multistep.ActionContinue
	}
	if s.Password {
		return halt(state, fmt.Errorf("cannot become root with sudo to remove the build's SSH password authentication and password: was %s removed by a provisioner? Keep the user until the build ends, or set keep_build_access = true", s.User))
	}
	ui.Error(fmt.Sprintf("Warning: %s cannot use sudo any more (removed by a provisioner?): the build hostname's /etc/hosts entry and cloud-init's copy of the build's user-data stay in the image", s.User))
	return multistep.ActionContinue
}

func (s *stepRevokeBuildAccess) Cleanup(multistep.StateBag) {}
