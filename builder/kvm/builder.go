package kvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/kvmforge/packer-plugin-kvm/internal/cidata"
	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/firmware"
	"github.com/kvmforge/packer-plugin-kvm/internal/outputdir"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
)

// generatedDataNames are the values the builder publishes as `build.<Name>`
// to provisioners and post-processors. Every one is set on every path.
var generatedDataNames = []string{
	"SourceImageURL", "SourceImageChecksum", "Accelerator", "SSHHostPort", "HTTPIP", "HTTPPort",
	"ImageFormat", "ImagePath", "ImageChecksum", "OutputDirectory", "Firmware",
	"CPUs", "MemoryMiB", "Architecture",
	"AdditionalDiskPaths",
}

// Builder is the `kvm` builder.
type Builder struct {
	config Config
	runner multistep.Runner
}

func (b *Builder) ConfigSpec() hcldec.ObjectSpec { return b.config.FlatMapstructure().HCL2Spec() }

func (b *Builder) Prepare(raws ...interface{}) ([]string, []string, error) {
	warnings, err := b.config.Prepare(raws...)
	if err != nil {
		return nil, warnings, err
	}
	return generatedDataNames, warnings, nil
}

func (b *Builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	c := &b.config
	driver, err := qemu.NewQemuDriver(c.QemuBinary, c.QemuImgBinary)
	if err != nil {
		return nil, err
	}
	claim, err := outputdir.Acquire(c.OutputDir, c.defaultOutputDir, os.Getenv("PACKER_RUN_UUID"))
	if err != nil {
		return nil, err
	}
	defer claim.Release()
	if claim.Dir != c.OutputDir {
		ui.Say(fmt.Sprintf("%s is used by another build of this run (sources renamed with `name` share their label): writing to %s", c.OutputDir, claim.Dir))
		c.OutputDir = claim.Dir
		if c.defaultImageName {
			c.ImageName += claim.Suffix
		}
	}

	verdicts := acceleratorVerdicts()
	started := time.Now()
	run := b.runSteps(ctx, ui, hook, driver, verdicts, nil)
	if reason := kvmFailedBeforeSSH(c.Accelerator, run.state, run.err); reason != nil && ctx.Err() == nil && cleansUpOnError(c.PackerOnError) {
		ui.Error(fmt.Sprintf("Warning: %s. Restarting the build under TCG from a fresh start (disk, seed and firmware variables as before the first boot); %s lost",
			reason, time.Since(started).Round(time.Second)))
		rememberKVMFailed(ui, verdicts, run.state, reason)
		run = b.runSteps(ctx, ui, hook, driver, verdicts, reason)
	}
	rememberKVMWorked(verdicts, run.state)
	if run.err != nil {
		return nil, run.err
	}
	return b.artifact(run.state, run.generated)
}

// buildRun is one run of the build's steps.
type buildRun struct {
	state     multistep.StateBag
	generated *packerbuilderdata.GeneratedData
	err       error
}

// runSteps runs the build's steps once, from a fresh state: every step's
// Cleanup has run when it returns, so a second run starts from nothing
// but the downloaded source. avoidKVM, when set, is why KVM failed the
// run before: the accelerator step then chooses TCG.
func (b *Builder) runSteps(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook, driver qemu.Driver, verdicts *qemu.VerdictStore, avoidKVM error) buildRun {
	c := &b.config
	state := new(multistep.BasicStateBag)
	keyConfig.Put(state, c)
	keyDriver.Put(state, driver)
	keyHook.Put(state, hook)
	keyUI.Put(state, ui)

	generated := &packerbuilderdata.GeneratedData{State: state}
	for _, name := range generatedDataNames {
		generated.Put(name, "")
	}
	generated.Put("SourceImageURL", c.SourceImageURL)
	generated.Put("SourceImageChecksum", c.SourceImageChecksum)
	generated.Put("ImageFormat", c.Format)
	generated.Put("OutputDirectory", c.OutputDir)
	generated.Put("Firmware", c.Firmware)
	generated.Put("CPUs", c.CPUs)
	generated.Put("MemoryMiB", c.Memory)
	generated.Put("Architecture", c.arch.Name)

	// The VM watch cancels the build's context with its reason, which
	// interrupts whatever step is running (internal/vmwatch).
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	b.runner = commonsteps.NewRunnerWithPauseFn(b.steps(generated, abort, verdicts, avoidKVM), c.PackerConfig, ui, state)
	b.runner.Run(ctx, state)
	return buildRun{state: state, generated: generated, err: runError(context.Cause(ctx), state)}
}

// errBuildCancelled and errBuildHalted are the builder's errors when the
// steps ended without one of their own.
var (
	errBuildCancelled = errors.New("build was cancelled")
	errBuildHalted    = errors.New("build was halted")
)

// runError is why a run of the steps failed, or nil: the VM watch's
// finding first, as the failing step's own error is usually its echo.
func runError(cause error, state multistep.StateBag) error {
	if err := vmwatch.AsFailure(cause); err != nil {
		return err
	}
	if err, ok := keyError.GetOk(state); ok {
		return err
	}
	if _, ok := state.GetOk(multistep.StateCancelled); ok {
		return errBuildCancelled
	}
	if _, ok := state.GetOk(multistep.StateHalted); ok {
		return errBuildHalted
	}
	return nil
}

// cleansUpOnError reports whether Packer's -on-error mode runs the steps'
// cleanups, which a restart needs (abort and ask leave the VM for a look).
func cleansUpOnError(mode string) bool { return mode == "" || mode == "cleanup" }

// acceleratorVerdicts is where the builder remembers what KVM did on this
// host: kvm-accelerator/ in Packer's cache (nil when there is none).
func acceleratorVerdicts() *qemu.VerdictStore {
	dir, err := packersdk.CachePath("kvm-accelerator")
	if err != nil {
		return nil
	}
	return &qemu.VerdictStore{Dir: dir}
}

func (b *Builder) steps(generated *packerbuilderdata.GeneratedData, abort func(error), verdicts *qemu.VerdictStore, avoidKVM error) []multistep.Step {
	c := &b.config
	hostname := "packer-" + cidata.Hostname(c.PackerBuildName)
	keyComment := ""
	if !c.RemoveTemporaryKey.False() {
		keyComment = c.Comm.SSHTemporaryKeyPairName
	}
	revoke := &stepRevokeBuildAccess{
		User:       c.Comm.SSHUsername,
		KeyComment: keyComment,
		Hostname:   hostname,
		Password:   c.Comm.SSHPassword != "",
		Keep:       c.KeepBuildAccess,
	}
	steps := []multistep.Step{
		&stepDownloadSource{Download: &commonsteps.StepDownload{
			Checksum:    c.SourceImageChecksum,
			Description: "source image",
			ResultKey:   string(keySourceImagePath),
			Url:         []string{c.SourceImageURL},
		}, StallTimeout: c.downloadStallTimeout},
		&stepOutputDir{Force: c.PackerForce, Path: c.OutputDir},
		&stepPrepareWorkDir{OutputDir: c.OutputDir},
		&stepCreateOverlay{DiskSize: c.diskSizeBytes},
		&stepCreateAdditionalDisks{Disks: c.AdditionalDisks},
		&communicator.StepSSHKeyGen{CommConf: &c.Comm, SSHTemporaryKeyPair: c.Comm.SSHTemporaryKeyPair},
		&stepCreateSeed{
			Hostname: hostname,
			User: cidata.User{
				Name:     c.Comm.SSHUsername,
				FastBoot: c.FastBoot.True() || c.FastBoot == 0,
			},
			Password: c.Comm.SSHPassword,
			PublicKey: func() string {
				// The comment lets StepCleanupTempKeys find the key again.
				return strings.TrimSpace(string(c.Comm.SSHPublicKey)) + " " + c.Comm.SSHTemporaryKeyPairName
			},
			UserData:      c.UserData,
			NetworkConfig: c.NetworkConfig,
		},
		b.httpServer(),
		&stepForwardSSHPort{MinPort: 2222, MaxPort: 4444},
		&stepChooseAccelerator{Mode: c.Accelerator, MachineType: c.MachineType, CPUModel: c.CPUModel, ProbeTimeout: c.AcceleratorProbeTimeout, Arch: c.arch.Name,
			Verdicts: verdicts, Avoid: avoidKVM},
		&stepPublishRuntimeData{Generated: generated},
		&stepPrepareFirmware{Firmware: c.Firmware, CodePath: c.EFIFirmwareCode, VarsPath: c.EFIFirmwareVars, Candidates: c.arch.Firmware,
			PadTo: c.arch.FirmwareSize, Packages: c.arch.FirmwarePackages,
			SecureBoot: c.SecureBoot, SecureBootCandidates: firmware.OVMFSecureBootCandidates,
			Arch: c.arch.Name, MachineType: c.MachineType, DescriptorDirs: firmware.DefaultDirs()},
		&stepStartTPM{Enabled: c.TPM, Binary: c.SwtpmBinary},
		b.warmRestore(hostname, revoke),
		&stepRunVM{Spec: qemu.Spec{
			Name: "packer-" + c.PackerBuildName, MachineType: c.MachineType, CPUModel: c.CPUModel,
			CPUs: c.CPUs, MemoryMiB: c.Memory, VNC: c.VNC, SerialLogFile: c.SerialLogFile, QemuArgs: c.QemuArgs,
			Hardware: c.hardware(), Arch: c.arch.Name,
		}, OutputDir: c.OutputDir, Abort: abort},
		&stepWarmContinue{},
		&stepWaitForSSH{Timeout: c.Comm.SSHTimeout, ProgressTimeout: c.bootProgressTimeout},
		&communicator.StepConnect{
			Config:    &c.Comm,
			Host:      func(state multistep.StateBag) (string, error) { return sshHost(state), nil },
			SSHConfig: c.Comm.SSHConfigFunc(),
			SSHPort:   func(state multistep.StateBag) (int, error) { return keySSHHostPort.Get(state), nil },
		},
		&stepWarmResumed{User: c.Comm.SSHUsername},
		&stepWaitCloudInit{Enabled: !c.WaitForCloudInit.False()},
		&stepWarmSave{KeyComment: keyComment, Comm: &c.Comm},
		&commonsteps.StepProvision{},
		revoke,
		&stepShutdown{Command: c.ShutdownCommand, Timeout: c.ShutdownTimeout, ForceOnTimeout: c.ForceShutdownOnTimeout},
		&stepSnapshot{OutputDir: c.OutputDir, ImageName: c.ImageName, Format: c.Format, Compression: c.Compression, Mode: c.OutputMode,
			AdditionalDiskLabels: c.additionalDiskLabels()},
	}
	if c.isISOBuild() {
		steps = b.installerSteps(steps) // builder_iso.go
	}
	if c.NetBridge != "" {
		steps = b.bridgeSteps(steps) // builder_bridge.go
	}
	return steps
}

func (b *Builder) artifact(state multistep.StateBag, generated *packerbuilderdata.GeneratedData) (packersdk.Artifact, error) {
	c := &b.config
	path := keyImagePath.Get(state)
	sum := keyImageChecksum.Get(state)
	generated.Put("ImagePath", path)
	generated.Put("ImageChecksum", "sha256:"+sum)
	sourceID, err := buildSourceImageID(state, c.SourceImageChecksum)
	if err != nil {
		return nil, err
	}
	disks := keyAdditionalDiskImages.Get(state)
	generated.Put("AdditionalDiskPaths", strings.Join(disks, ","))
	data := keyGeneratedData.Get(state)
	backing := keyImageBackingFile.Get(state)
	return &Artifact{
		ImagePath:     path,
		ChecksumPath:  keyChecksumPath.Get(state),
		Checksum:      sum,
		Format:        c.Format,
		VirtualSize:   keyDiskVirtualSize.Get(state),
		Accelerator:   keyAccelerator.Get(state),
		Arch:          c.arch.Name,
		SourceURL:     c.SourceImageURL,
		SourceID:      sourceID,
		GeneratedData: data,
		// Every additional disk's image, after the main one in Files.
		AdditionalDisks: disks,
		BackingFile:     backing,
	}, nil
}

// sourceImageID is the source image's ID for HCP Packer ancestry: its
// SHA-256 in bare hex, the form every ImageID takes (ours included), since
// Packer links a build to its parent only when the two are equal. A sha256
// digest from the template is used as it is; any other (sha512, an index,
// none) is replaced by the SHA-256 of the downloaded file.
func sourceImageID(configured, path string) (string, error) {
	if kind, value, _ := strings.Cut(configured, ":"); strings.EqualFold(kind, "sha256") {
		return strings.ToLower(value), nil
	}
	sum, _, err := fileutil.SHA256(path)
	return sum, err
}

// buildSourceImageID is sourceImageID of the build's source_image_path,
// computed once a build and kept in the state as source_image_id: warm
// start keys its cache by it too, and hashing a large source twice would
// cost a warm build a second or more.
func buildSourceImageID(state multistep.StateBag, configured string) (string, error) {
	if id, ok := keySourceImageID.GetOk(state); ok {
		return id, nil
	}
	id, err := sourceImageID(configured, keySourceImagePath.Get(state))
	if err == nil {
		keySourceImageID.Put(state, id)
	}
	return id, err
}
