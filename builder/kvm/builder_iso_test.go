package kvm

import (
	"fmt"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"
)

func builderSteps(t *testing.T, raw map[string]interface{}) []multistep.Step {
	t.Helper()
	c, _, err := prepare(t, raw)
	if err != nil {
		t.Fatal(err)
	}
	b := &Builder{config: *c}
	return b.steps(&packerbuilderdata.GeneratedData{State: new(multistep.BasicStateBag)}, func(error) {}, nil, nil)
}

func stepTypes(steps []multistep.Step) []string {
	var names []string
	for _, s := range steps {
		names = append(names, fmt.Sprintf("%T", s))
	}
	return names
}

func indexOf(steps []multistep.Step, typ string) int {
	for i, name := range stepTypes(steps) {
		if name == typ {
			return i
		}
	}
	return -1
}

func TestInstallerSteps_replaceTheCloudImageSteps(t *testing.T) {
	steps := builderSteps(t, isoConfig(t))
	for _, gone := range []string{"*kvm.stepCreateOverlay", "*kvm.stepCreateSeed"} {
		if indexOf(steps, gone) >= 0 {
			t.Errorf("an installer build runs %s: %v", gone, stepTypes(steps))
		}
	}
	disk, http, run, typing, ssh := indexOf(steps, "*kvm.stepCreateBlankDisk"), indexOf(steps, "*kvm.stepHTTPServer"),
		indexOf(steps, "*kvm.stepRunVM"), indexOf(steps, "*kvm.stepTypeBootCommand"), indexOf(steps, "*kvm.stepWaitForSSH")
	if disk < 0 || indexOf(steps, "*kvm.stepCreateCD") < 0 || indexOf(steps, "*commonsteps.StepCreateFloppy") < 0 {
		t.Fatalf("installer steps missing: %v", stepTypes(steps))
	}
	if !(disk < http && http < run && run+1 == typing && typing < ssh) {
		t.Fatalf("steps out of order (disk, HTTP server, VM, boot command, SSH): %v", stepTypes(steps))
	}
	vm := steps[run].(*stepRunVM)
	if !vm.Spec.VNC || vm.Spec.CDROMInterface != "virtio-scsi" {
		t.Fatalf("the VM of an installer build has VNC %v and CD-ROM interface %q", vm.Spec.VNC, vm.Spec.CDROMInterface)
	}
	download := steps[indexOf(steps, "*kvm.stepDownloadSource")].(*stepDownloadSource).Download
	if download.Url[0] != "https://mirror.example.org/debian/mini.iso" || download.ResultKey != "source_image_path" {
		t.Fatalf("downloads %v into %s, want the ISO into source_image_path", download.Url, download.ResultKey)
	}
	if server := steps[http].(*stepHTTPServer).Server; server.HTTPAddress != "127.0.0.1" {
		t.Fatalf("HTTP server binds %q", server.HTTPAddress)
	}
	revoke := steps[indexOf(steps, "*kvm.stepRevokeBuildAccess")].(*stepRevokeBuildAccess)
	if !revoke.Keep || revoke.Password {
		t.Fatal("the builder would take away access the installer, not the builder, gave")
	}
}

func TestInstallerSteps_waitForCloudInitOnlyWhenAsked(t *testing.T) {
	for raw, want := range map[string]bool{"": false, "true": true, "false": false} {
		overrides := isoConfig(t)
		if raw != "" {
			overrides["wait_for_cloud_init"] = raw
		}
		steps := builderSteps(t, overrides)
		if got := steps[indexOf(steps, "*kvm.stepWaitCloudInit")].(*stepWaitCloudInit).Enabled; got != want {
			t.Errorf("wait_for_cloud_init %q: waiting %v, want %v", raw, got, want)
		}
	}
	cloud := builderSteps(t, nil)
	if !cloud[indexOf(cloud, "*kvm.stepWaitCloudInit")].(*stepWaitCloudInit).Enabled {
		t.Error("a cloud-image build no longer waits for cloud-init by default")
	}
	if indexOf(cloud, "*kvm.stepTypeBootCommand") >= 0 || indexOf(cloud, "*kvm.stepCreateSeed") < 0 {
		t.Errorf("cloud-image steps changed: %v", stepTypes(cloud))
	}
}
