package kvm

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

func continueState(t *testing.T, status, migrate string) (multistep.StateBag, *qemumock.VMMock) {
	t.Helper()
	state, _ := testState(t)
	vm := qemumock.NewVMMock()
	vm.StatusText = status
	vm.CommandReplies = map[string]string{"query-migrate": migrate}
	keyVM.Put(state, vm)
	keyWarm.Put(state, &warmState{Entry: &warmstart.Entry{Dir: "/c/0123456789abcdef"}})
	return state, vm
}

func TestStepWarmContinue_continuesTheLoadedPausedGuest(t *testing.T) {
	state, vm := continueState(t, "paused", `{"status":"completed"}`)
	if (&stepWarmContinue{}).Run(context.Background(), state) != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if !reflect.DeepEqual(vm.CommandCalls, []string{"query-migrate", "cont"}) {
		t.Fatalf("QMP commands %v", vm.CommandCalls)
	}
}

func TestStepWarmContinue_failsOnAFailedLoad(t *testing.T) {
	state, vm := continueState(t, "paused", `{"status":"failed","error-desc":"bad section"}`)
	if (&stepWarmContinue{}).Run(context.Background(), state) != multistep.ActionHalt {
		t.Fatal("continued a guest whose state did not load")
	}
	if len(vm.CommandCalls) != 1 {
		t.Fatalf("QMP commands %v", vm.CommandCalls)
	}
}

func TestStepWarmContinue_boundsTheLoad(t *testing.T) {
	state, _ := continueState(t, "inmigrate", "")
	step := &stepWarmContinue{Timeout: 50 * time.Millisecond, PollInterval: 5 * time.Millisecond}
	if step.Run(context.Background(), state) != multistep.ActionHalt {
		t.Fatal("waited for ever")
	}
}

func TestStepWarmContinue_leavesColdAndRunningGuestsAlone(t *testing.T) {
	state, vm := continueState(t, "running", "")
	(&stepWarmContinue{}).Run(context.Background(), state)
	warmOf(state).Entry = nil
	vm.StatusText = "paused"
	(&stepWarmContinue{}).Run(context.Background(), state)
	if len(vm.CommandCalls) != 0 {
		t.Fatalf("QMP commands %v", vm.CommandCalls)
	}
}
