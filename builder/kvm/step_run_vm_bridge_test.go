package kvm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// QEMU refused by the helper's ACL: the error names the line to add.
func TestStepRunVM_bridgeACLDenialNamesTheFix(t *testing.T) {
	state, driver := testState(t)
	dir := t.TempDir()
	keyWorkDir.Put(state, dir)
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, dir+"/disk.qcow2")
	driver.StartErr = errors.New("QEMU exited at start: exit status 1: access denied by acl file\nqemu-system-x86_64: -netdev bridge,id=net0,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper: bridge helper failed")
	spec := testSpec()
	spec.Hardware.Bridge, spec.Hardware.BridgeHelper, spec.Hardware.MACAddress = "br0", "/usr/lib/qemu/qemu-bridge-helper", "52:54:00:12:34:56"
	step := &stepRunVM{Spec: spec}
	defer step.Cleanup(state)
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("continued")
	}
	err := stateErr(state)
	if err == nil || !strings.Contains(err.Error(), "`allow br0` to /etc/qemu/bridge.conf") {
		t.Fatalf("error %v", err)
	}
	args := strings.Join(driver.StartArgs, " ")
	if !strings.Contains(args, "-netdev bridge,id=net0,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper") || strings.Contains(args, "hostfwd") {
		t.Fatalf("QEMU's network: %s", args)
	}
}
