package kvm

import (
	"reflect"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"
)

func stepIndex(steps []multistep.Step, sample multistep.Step) int {
	for i, s := range steps {
		if reflect.TypeOf(s) == reflect.TypeOf(sample) {
			return i
		}
	}
	return -1
}

// The warm-start steps sit where the state they need exists: the restore
// right before QEMU starts, the continue right after, the clock once SSH
// is connected, and the save after cloud-init and before provisioning.
func TestBuilderSteps_warmStartOrder(t *testing.T) {
	raw := minimalConfig()
	raw["warm_start"] = true
	var b Builder
	if _, _, err := b.Prepare(raw); err != nil {
		t.Fatal(err)
	}
	steps := b.steps(&packerbuilderdata.GeneratedData{State: new(multistep.BasicStateBag)}, func(error) {}, nil, nil)
	order := []multistep.Step{
		&stepPrepareFirmware{}, &stepWarmRestore{}, &stepRunVM{}, &stepWarmContinue{}, &stepWaitForSSH{},
		&stepWarmResumed{}, &stepWaitCloudInit{}, &stepWarmSave{}, &stepRevokeBuildAccess{},
	}
	last := -1
	for _, s := range order {
		i := stepIndex(steps, s)
		if i <= last {
			t.Fatalf("%T at %d, want after %d", s, i, last)
		}
		last = i
	}
	restore := steps[stepIndex(steps, &stepWarmRestore{})].(*stepWarmRestore)
	if !restore.Enabled || restore.Inputs.MemoryMiB != b.config.Memory || restore.Revoke != steps[stepIndex(steps, &stepRevokeBuildAccess{})] {
		t.Fatalf("the restore step is not wired to the configuration: %+v", restore)
	}
}
