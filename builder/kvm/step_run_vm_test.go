package kvm

import (
	"context"
	"errors"
	"io"
	stdnet "net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// testSpec is a small VM for the run-VM step's tests.
func testSpec() qemu.Spec {
	return qemu.Spec{Name: "packer-base", MachineType: "q35", CPUs: 2, MemoryMiB: 2048}
}

func TestStepRunVM_startsAndAlwaysStopsQEMU(t *testing.T) {
	state, driver, dir := runVMState(t)
	step := &stepRunVM{Spec: testSpec()}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if !strings.Contains(strings.Join(driver.StartArgs, " "), "hostfwd=tcp:127.0.0.1:2999-:22") {
		t.Fatalf("the reserved port was not forwarded: %v", driver.StartArgs)
	}
	if keySerialLog.Get(state) != dir+"/serial.log" {
		t.Fatalf("serial log %v, want it in the work dir", keySerialLog.Get(state))
	}
	step.Cleanup(state)
	if driver.VM.StopCalls != 1 {
		t.Fatal("Cleanup did not stop QEMU")
	}
}

// With serial input, QEMU starts paused with its console on a socket; the
// step connects, records the console to the serial log, and only then
// lets the guest run. It keeps the connection, for typing, until QEMU has
// stopped.
func TestStepRunVM_recordsTheSerialConsoleBeforeTheGuestRuns(t *testing.T) {
	state, driver, dir := runVMState(t)
	pluginEnd, qemuEnd := stdnet.Pipe()
	var dialed string
	step := &stepRunVM{Spec: testSpec(), SerialInput: true,
		DialSerial: func(ctx context.Context, socket string) (stdnet.Conn, error) {
			if n := len(driver.VM.CommandCalls); n != 0 {
				t.Errorf("the VM ran %v before the console was connected", driver.VM.CommandCalls)
			}
			dialed = socket
			return pluginEnd, nil
		}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	args := strings.Join(driver.StartArgs, " ")
	if !strings.Contains(args, "-chardev socket,id=serial0,path="+dialed+",server=on,wait=off") || !strings.Contains(args, " -S ") {
		t.Fatalf("QEMU was not started paused with its console on %q: %s", dialed, args)
	}
	if got := strings.Join(driver.VM.CommandCalls, " "); got != "cont" {
		t.Fatalf("QMP commands %q, want cont", got)
	}
	go qemuEnd.Write([]byte("GNU GRUB  version 2.06\r\n"))
	typed := make([]byte, 2)
	go keySerialConsole.Get(state).Write([]byte("e\r"))
	if _, err := io.ReadFull(qemuEnd, typed); err != nil || string(typed) != "e\r" {
		t.Fatalf("the guest read %q, %v", typed, err)
	}
	waitForFile(t, dir+"/serial.log", "GNU GRUB")
	step.Cleanup(state)
	if driver.VM.StopCalls != 1 {
		t.Fatal("Cleanup did not stop QEMU")
	}
	if _, err := qemuEnd.Write([]byte("x")); err == nil {
		t.Fatal("the console is still connected after Cleanup")
	}
}

// A console that cannot be connected halts the build and names it.
func TestStepRunVM_serialConsoleUnreachable(t *testing.T) {
	state, driver, _ := runVMState(t)
	step := &stepRunVM{Spec: testSpec(), SerialInput: true,
		DialSerial: func(context.Context, string) (stdnet.Conn, error) { return nil, errors.New("connection refused") }}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("ran with no serial console")
	}
	if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "serial console") {
		t.Fatalf("got %v, want an error naming the serial console", err)
	}
	step.Cleanup(state)
	if driver.VM.StopCalls != 1 || len(driver.VM.CommandCalls) != 0 {
		t.Fatalf("stop calls %d, QMP %v: want QEMU stopped and never continued", driver.VM.StopCalls, driver.VM.CommandCalls)
	}
}

// waitForFile waits until the file at path contains want.
func waitForFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %q, want %q in it", path, data, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
