package kvm

import (
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// Compile-time checks: each type implements the interface it is used
// through, so a changed signature fails the build here, not at run time.
var (
	_ packersdk.Builder  = (*Builder)(nil)
	_ packersdk.Artifact = (*Artifact)(nil)

	_ multistep.Step = (*stepOutputDir)(nil)
	_ multistep.Step = (*stepPrepareWorkDir)(nil)
	_ multistep.Step = (*stepDownloadSource)(nil)
	_ multistep.Step = (*stepCreateOverlay)(nil)
	_ multistep.Step = (*stepCreateSeed)(nil)
	_ multistep.Step = (*stepForwardSSHPort)(nil)
	_ multistep.Step = (*stepChooseAccelerator)(nil)
	_ multistep.Step = (*stepPublishRuntimeData)(nil)
	_ multistep.Step = (*stepPrepareFirmware)(nil)
	_ multistep.Step = (*stepRunVM)(nil)
	_ multistep.Step = (*stepWaitForSSH)(nil)
	_ multistep.Step = (*stepWaitCloudInit)(nil)
	_ multistep.Step = (*stepRevokeBuildAccess)(nil)
	_ multistep.Step = (*stepShutdown)(nil)
	_ multistep.Step = (*stepSnapshot)(nil)

	_ packersdk.Ui = quietUi{}
)
