package kvm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepRunVM_attachesTheInstallerMediaAndPublishesVNC(t *testing.T) {
	state, driver, dir := runVMState(t)
	state.Remove(string(keySeedPath)) // an installer build has no seed
	keySourceImagePath.Put(state, "/cache/installer.iso")
	keyCDPath.Put(state, dir+"/cd.iso")
	spec := testSpec()
	spec.VNC, spec.CDROMInterface = true, "virtio-scsi"
	step := &stepRunVM{Spec: spec}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted without a seed: %v", stateErr(state))
	}
	defer step.Cleanup(state)
	cmdline := strings.Join(driver.StartArgs, " ")
	for _, want := range []string{"file=/cache/installer.iso,if=none,id=installer", "file=" + dir + "/cd.iso,if=none,id=cdfiles"} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	port, ok := keyVNCPort.GetOk(state)
	if !ok || !strings.Contains(cmdline, fmt.Sprintf("-vnc 127.0.0.1:%d", port-5900)) {
		t.Fatalf("vnc_port %v does not match the command line:\n%s", keyVNCPort.Get(state), cmdline)
	}
}
