package kvm

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// scriptedComm records the commands and answers each with exit(command).
type scriptedComm struct {
	packersdk.MockCommunicator
	cmds []string
	exit func(string) int
}

func (c *scriptedComm) Start(ctx context.Context, rc *packersdk.RemoteCmd) error {
	c.cmds = append(c.cmds, rc.Command)
	go rc.SetExited(c.exit(rc.Command))
	return nil
}

func runRevoke(t *testing.T, step *stepRevokeBuildAccess, exit func(string) int) (multistep.StepAction, *scriptedComm, multistep.StateBag) {
	t.Helper()
	state, _ := testState(t)
	comm := &scriptedComm{exit: exit}
	keyCommunicator.Put(state, comm)
	keyInstanceID.Put(state, "packer-iid")
	return step.Run(context.Background(), state), comm, state
}

func TestStepRevokeBuildAccess_runsTheScriptAsRootThroughSudo(t *testing.T) {
	step := &stepRevokeBuildAccess{User: "packer", KeyComment: "packer_1", Hostname: "packer-base", Password: true}
	action, comm, state := runRevoke(t, step, func(string) int { return 0 })
	if action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if len(comm.cmds) != 2 || !strings.HasPrefix(comm.cmds[0], "sudo -n true") || !strings.HasPrefix(comm.cmds[1], "sudo -n sh -c ") {
		t.Fatalf("commands %q", comm.cmds)
	}
	for _, want := range []string{"packer_1", "packer-iid", "sshd_config", "/etc/shadow"} {
		if !strings.Contains(comm.cmds[1], want) {
			t.Errorf("the script lacks %q", want)
		}
	}
}

func TestStepRevokeBuildAccess_rootNeedsNoSudo(t *testing.T) {
	_, comm, _ := runRevoke(t, &stepRevokeBuildAccess{User: "root", KeyComment: "k", Hostname: "h"}, func(string) int { return 0 })
	if len(comm.cmds) != 1 || !strings.HasPrefix(comm.cmds[0], "sh -c ") {
		t.Fatalf("commands %q", comm.cmds)
	}
}

func TestStepRevokeBuildAccess_aFailingScriptFailsTheBuild(t *testing.T) {
	action, _, state := runRevoke(t, &stepRevokeBuildAccess{User: "packer", KeyComment: "k", Hostname: "h"}, func(cmd string) int {
		if strings.HasPrefix(cmd, "sudo -n sh") {
			return 1
		}
		return 0
	})
	if action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "keep_build_access") {
		t.Fatalf("action %v err %v", action, stateErr(state))
	}
}

// A provisioner that removed the build user leaves no sudo: without a
// password only a warning remains; with one, SSH password logins may stay
// open, so the build fails.
func TestStepRevokeBuildAccess_withoutSudo(t *testing.T) {
	noSudo := func(cmd string) int {
		if strings.HasPrefix(cmd, "sudo") {
			return 1
		}
		return 0
	}
	action, comm, state := runRevoke(t, &stepRevokeBuildAccess{User: "packer", KeyComment: "k", Hostname: "h"}, noSudo)
	if action != multistep.ActionContinue || !strings.Contains(uiOutput(state), "cannot use sudo") || len(comm.cmds) != 2 {
		t.Fatalf("action %v, commands %q, output %q", action, comm.cmds, uiOutput(state))
	}
	action, _, state = runRevoke(t, &stepRevokeBuildAccess{User: "packer", KeyComment: "k", Hostname: "h", Password: true}, noSudo)
	if action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "password") {
		t.Fatalf("with a password: action %v err %v", action, stateErr(state))
	}
}

func TestStepRevokeBuildAccess_nothingToDo(t *testing.T) {
	action, comm, _ := runRevoke(t, &stepRevokeBuildAccess{User: "packer", Keep: true}, func(string) int { return 0 })
	if action != multistep.ActionContinue || len(comm.cmds) != 0 {
		t.Fatalf("action %v commands %q", action, comm.cmds)
	}
}
