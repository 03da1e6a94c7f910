package kvm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

func TestStepWarmResumed_setsTheGuestClockAndReports(t *testing.T) {
	state, _ := testState(t)
	comm := &scriptedComm{exit: func(string) int { return 0 }}
	keyCommunicator.Put(state, comm)
	keyWarm.Put(state, &warmState{
		Entry:   &warmstart.Entry{Dir: "/cache/0123456789abcdef", Manifest: warmstart.Manifest{BootSeconds: 40}},
		Started: time.Now().Add(-5 * time.Second),
	})
	now := time.Unix(1700000000, 5)
	step := &stepWarmResumed{User: "packer", Now: func() time.Time { return now }}
	if step.Run(context.Background(), state) != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if len(comm.cmds) != 1 || comm.cmds[0] != "sudo -n date -u -s @1700000000.000000005 >/dev/null" {
		t.Fatalf("commands %q", comm.cmds)
	}
	if !strings.Contains(uiOutput(state), "warm start: resumed from 0123456789ab, saved 35 s") {
		t.Fatal(uiOutput(state))
	}
	if !warmOf(state).Resumed {
		t.Fatal("the resume is not recorded")
	}
}

func TestStepWarmResumed_failsWhenTheClockCannotBeSet(t *testing.T) {
	state, _ := testState(t)
	keyCommunicator.Put(state, &scriptedComm{exit: func(string) int { return 1 }})
	keyWarm.Put(state, &warmState{Entry: &warmstart.Entry{Dir: "/c/k"}, Started: time.Now()})
	if (&stepWarmResumed{User: "root"}).Run(context.Background(), state) != multistep.ActionHalt {
		t.Fatal("a guest with the wrong clock was provisioned")
	}
}

func TestStepWarmResumed_coldBuildsSkip(t *testing.T) {
	state, _ := testState(t)
	if (&stepWarmResumed{}).Run(context.Background(), state) != multistep.ActionContinue {
		t.Fatal("halted")
	}
}
