package kvm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepRunVM_attachesTheInstallerMediaAndPublishesVNC(t *testing.T) {
	state, driver := testState(t)
	dir := t.TempDir()
	state.Put("work_dir", dir)
	state.Put("accelerator", "tcg")
	state.Put("overlay_path", dir+"/disk.qcow2")
	state.Put("source_image_path", "/cache/installer.iso")
	state.Put("cd_path", dir+"/cd.iso")
	state.Put("ssh_host_port", 2999)
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
	port, ok := state.Get("vnc_port").(int)
	if !ok || !strings.Contains(cmdline, fmt.Sprintf("-vnc 127.0.0.1:%d", port-5900)) {
		t.Fatalf("vnc_port %v does not match the command line:\n%s", state.Get("vnc_port"), cmdline)
	}
}
