package kvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
	"github.com/kvmforge/packer-plugin-kvm/internal/vnc"
)

// A VNC display gets a random password: QEMU starts it with password=on,
// the step sets the password over QMP, publishes it for the boot command,
// shows it to the user and hides it from the logs.
func TestStepRunVM_protectsVNCWithARandomPassword(t *testing.T) {
	t.Setenv("PACKER_CACHE_DIR", t.TempDir())
	var passwords []string
	for i := 0; i < 2; i++ {
		state, driver, step := vncRunVMStep(t)
		if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
			t.Fatalf("halted: %v", stateErr(state))
		}
		defer step.Cleanup(state)
		port := keyVNCPort.Get(state)
		cmdline := strings.Join(driver.StartArgs, " ")
		if want := fmt.Sprintf("-vnc 127.0.0.1:%d,password=on", port-5900); !strings.Contains(cmdline, want) {
			t.Fatalf("command line lacks %q:\n%s", want, cmdline)
		}
		password := keyVNCPassword.Get(state)
		if len(password) != vnc.PasswordLength {
			t.Fatalf("vnc_password %q, want %d characters", password, vnc.PasswordLength)
		}
		set := -1
		for i, name := range driver.VM.CommandCalls {
			if name == "set_password" {
				set = i
			}
		}
		if set < 0 {
			t.Fatalf("the password was not set over QMP: %v", driver.VM.CommandCalls)
		}
		if args := fmt.Sprint(driver.VM.CommandArgs[set]); args != fmt.Sprint(map[string]interface{}{"protocol": "vnc", "password": password}) {
			t.Fatalf("set_password %s, want the vnc password %s", args, password)
		}
		file := filepath.Join(keyWorkDir.Get(state), "vnc-password")
		out := uiOutput(state)
		if !strings.Contains(out, fmt.Sprintf("connect to 127.0.0.1:%d", port)) || !strings.Contains(out, "password is in "+file) {
			t.Fatalf("the UI does not say how to watch the console:\n%s", out)
		}
		if strings.Contains(out, password) {
			t.Fatalf("the UI, which Packer logs, shows the password:\n%s", out)
		}
		if data, err := os.ReadFile(file); err != nil || string(data) != password+"\n" {
			t.Fatalf("%s holds %q (%v), want the password", file, data, err)
		}
		if info, _ := os.Stat(file); info.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v: others may read the password", file, info.Mode())
		}
		var logged bytes.Buffer
		packersdk.LogSecretFilter.SetOutput(&logged)
		fmt.Fprintf(&packersdk.LogSecretFilter, "ui: password %s\n", password)
		packersdk.LogSecretFilter.SetOutput(io.Discard)
		if strings.Contains(logged.String(), password) {
			t.Fatalf("the password reaches the logs: %s", logged.String())
		}
		passwords = append(passwords, password)
	}
	if passwords[0] == passwords[1] {
		t.Fatalf("two builds got the same VNC password %s", passwords[0])
	}
}

// A display whose password cannot be set would refuse everyone: the
// build stops.
func TestStepRunVM_failsWhenTheVNCPasswordCannotBeSet(t *testing.T) {
	t.Setenv("PACKER_CACHE_DIR", t.TempDir())
	state, driver, step := vncRunVMStep(t)
	driver.VM = qemumock.NewVMMock()
	driver.VM.CommandErrs = map[string]error{"set_password": errors.New("Could not set password")}
	defer step.Cleanup(state)
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "VNC display's password") {
		t.Fatalf("want a halt naming the VNC password, got %v", stateErr(state))
	}
}

// vncRunVMStep is a run-VM step with VNC on, and the state it reads.
func vncRunVMStep(t *testing.T) (*multistep.BasicStateBag, *qemumock.DriverMock, *stepRunVM) {
	t.Helper()
	state, driver, _ := runVMState(t)
	spec := testSpec()
	spec.VNC = true
	return state, driver, &stepRunVM{Spec: spec}
}
