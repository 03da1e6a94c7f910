package kvm

import (
	"io"
	"net/netip"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

// The state bag's contract: every value the build's steps hand each other,
// with its type, the step that puts it and the ones that read it. Steps
// reach the bag only through these keys, so a value's type is checked by
// the compiler and its name is written once.
//
// Cleanup runs after a halt with the bag half filled, so a value may be
// missing: Get returns the zero value then, and GetOk says whether it was
// there. A key's string is its name in the bag; the names marked "SDK"
// are the ones packer-plugin-sdk's steps and runner use, and must not
// change.

// stateKey names one value of the state bag and the type it holds.
type stateKey[T any] string

// Get returns the value under k, or T's zero value when it is missing.
func (k stateKey[T]) Get(state multistep.StateBag) T {
	v, _ := k.GetOk(state)
	return v
}

// GetOk returns the value under k and whether it is there.
func (k stateKey[T]) GetOk(state multistep.StateBag) (T, bool) {
	raw, ok := state.GetOk(string(k))
	v, isT := raw.(T)
	return v, ok && isT
}

// Put stores v under k.
func (k stateKey[T]) Put(state multistep.StateBag, v T) {
	state.Put(string(k), v)
}

// The builder's own values, put by Builder.runSteps before any step.
const (
	// keyUI is the build's output (SDK). runSteps puts it;
	// stepDownloadSource swaps in a progress-reporting one while it
	// downloads. Every step that talks reads it.
	keyUI stateKey[packersdk.Ui] = "ui"
	// keyHook runs the provisioners (SDK: StepProvision reads it).
	keyHook stateKey[packersdk.Hook] = "hook"
	// keyConfig is the build's configuration. No step of ours reads it
	// (steps get their part of the configuration as fields); Packer's
	// builders conventionally keep it in the bag.
	keyConfig stateKey[*Config] = "config"
	// keyDriver runs qemu-img and QEMU. Read by stepCheckInstallerMedia,
	// stepCreateOverlay, stepCreateBlankDisk, stepCreateAdditionalDisks,
	// stepChooseAccelerator, stepWarmRestore, stepRunVM, stepWarmSave and
	// stepSnapshot.
	keyDriver stateKey[qemu.Driver] = "driver"
)

// keyError is the error that halted the build (SDK: the runner reports it).
// halt puts it; runError reads it.
const keyError stateKey[error] = "error"

// Values the SDK's own steps put.
const (
	// keySourceImagePath is the downloaded source image (or installer
	// ISO): StepDownload's ResultKey. Read by stepCreateOverlay,
	// stepCheckInstallerMedia, installerMediaFromState (stepRunVM),
	// stepWarmRestore, stepSnapshot (the backing file) and
	// buildSourceImageID.
	keySourceImagePath stateKey[string] = "source_image_path"
	// keyCommunicator is the SSH connection (SDK: communicator.StepConnect
	// puts it). Read by stepWarmResumed, stepWaitCloudInit,
	// stepRevokeBuildAccess and stepShutdown (with a shutdown_command);
	// kvmFailedBeforeSSH and rememberKVMWorked only ask whether it is
	// there.
	keyCommunicator stateKey[packersdk.Communicator] = "communicator"
	// keyGeneratedData is what the provisioners were given (SDK:
	// StepProvision puts it). The artifact reads it.
	keyGeneratedData stateKey[map[string]interface{}] = "generated_data"
	// keyHTTPPort is the port of the installer's HTTP server (SDK:
	// StepHTTPServer puts it). stepTypeBootCommand reads it.
	keyHTTPPort stateKey[int] = "http_port"
	// keyFloppyPath is the floppy image (SDK: StepCreateFloppy puts it).
	// installerMediaFromState (stepRunVM) reads it.
	keyFloppyPath stateKey[string] = "floppy_path"
)

// Values our steps put, in the order the steps run.
const (
	// keyWorkDir is the build's scratch directory inside the output
	// directory. stepPrepareWorkDir puts it (and removes the directory in
	// Cleanup); the steps that write files there read it:
	// stepCreateOverlay, stepCreateBlankDisk, stepCreateAdditionalDisks,
	// stepCreateSeed, stepCreateCD, stepPrepareFirmware, stepStartTPM,
	// stepRunVM and stepWaitForSSH (screenDumpPath).
	keyWorkDir stateKey[string] = "work_dir"
	// keySourceImageFormat is the source image's format, as qemu-img sees
	// it. stepCreateOverlay puts it; stepWarmRestore reads it to rebase a
	// restored disk layer.
	keySourceImageFormat stateKey[string] = "source_image_format"
	// keySourceImageID is the source's SHA-256, computed once a build.
	// buildSourceImageID puts and reads it (warm start and the artifact).
	keySourceImageID stateKey[string] = "source_image_id"
	// keyOverlayPath is the disk the VM runs on. stepCreateOverlay (or
	// stepCreateBlankDisk for an installer build) puts it; stepWarmSave
	// replaces it by the overlay the VM continues on. Read by stepRunVM,
	// stepWarmRestore, stepWarmSave and stepSnapshot.
	keyOverlayPath stateKey[string] = "overlay_path"
	// keyDiskVirtualSize is the disk's virtual size in bytes.
	// stepCreateOverlay or stepCreateBlankDisk puts it; the artifact reads
	// it.
	keyDiskVirtualSize stateKey[int64] = "disk_virtual_size"
	// keyAdditionalDiskPaths are the additional disks, in order (empty
	// when there are none). stepCreateAdditionalDisks puts them; stepRunVM
	// and stepSnapshot read them.
	keyAdditionalDiskPaths stateKey[[]string] = "additional_disk_paths"
	// keyInstanceID is the guest's cloud-init instance-id (SDK:
	// StepProvision reads it). stepCreateSeed puts it, stepWarmRestore
	// replaces it on a resume; stepRevokeBuildAccess and stepWarmSave read
	// it.
	keyInstanceID stateKey[string] = "instance_id"
	// keySeedPath is the cloud-init seed ISO. stepCreateSeed puts it;
	// stepRunVM reads it.
	keySeedPath stateKey[string] = "seed_path"
	// keyCDPath is the cd_files CD, under the name the SDK's StepCreateCD
	// uses. stepCreateCD puts it; installerMediaFromState (stepRunVM)
	// reads it.
	keyCDPath stateKey[string] = "cd_path"
	// keySSHHostPort is the host port forwarded to the guest's SSH, or
	// with net_bridge the guest's own ssh_port. stepForwardSSHPort (or
	// stepCheckBridge) puts it; stepRunVM, stepWaitForSSH, StepConnect
	// (through the builder's SSHPort) and stepPublishRuntimeData read it.
	keySSHHostPort stateKey[int] = "ssh_host_port"
	// keyBridgeAddress is the host's IPv4 address on net_bridge, with its
	// prefix, when the bridge has one. stepCheckBridge puts it;
	// stepHTTPServer (the address it listens on) and stepFindGuestAddress
	// (the subnet it probes and takes leases from) read it.
	keyBridgeAddress stateKey[netip.Prefix] = "bridge_address"
	// keyHTTPIP is where a guest on net_bridge reaches the HTTP server:
	// the bridge's address, or the user's http_bind_address when the
	// bridge has none. stepCheckBridge puts it; guestHTTPIP reads it.
	keyHTTPIP stateKey[string] = "http_ip"
	// keyGuestAddress is the guest's address on net_bridge (or ssh_host).
	// stepFindGuestAddress puts it; stepWaitForSSH and StepConnect
	// (through sshHost) read it. Without it SSH goes to 127.0.0.1.
	keyGuestAddress stateKey[string] = "guest_address"
	// keyAccelerator is the accelerator chosen: kvm, hvf, whpx or tcg.
	// stepChooseAccelerator puts it; stepPublishRuntimeData, stepRunVM,
	// stepWarmRestore, the accelerator fallback and the artifact read it.
	keyAccelerator stateKey[string] = "accelerator"
	// keyAcceleratorHost is the host the KVM verdicts are kept for.
	// stepChooseAccelerator puts it when it consulted the verdicts;
	// rememberKVMFailed and rememberKVMWorked read it.
	keyAcceleratorHost stateKey[qemu.HostIdentity] = "accelerator_host"
)

// The firmware, put by stepPrepareFirmware for UEFI and read by stepRunVM;
// stepWarmRestore hashes the files into the cache key and restores the
// variables, stepWarmSave saves them.
const (
	// keyEFICode is the UEFI code file (padded when the machine needs it).
	keyEFICode stateKey[string] = "efi_code"
	// keyEFIVars is the build's copy of the UEFI variables file.
	keyEFIVars stateKey[string] = "efi_vars"
	// keyEFICodeFormat is the code file's format: "raw" or "qcow2".
	keyEFICodeFormat stateKey[string] = "efi_code_format"
	// keyEFIVarsFormat is the variables file's format: "raw" or "qcow2".
	keyEFIVarsFormat stateKey[string] = "efi_vars_format"
	// keyEFISMM says the firmware requires SMM.
	keyEFISMM stateKey[bool] = "efi_smm"
	// keyEFISecureVars says the variables must be kept from the guest's
	// non-SMM code (the secure-boot firmware's requirement).
	keyEFISecureVars stateKey[bool] = "efi_secure_vars"
)

// The running VM.
const (
	// keyTPMSocket is swtpm's control socket. stepStartTPM puts it;
	// stepRunVM reads it.
	keyTPMSocket stateKey[string] = "tpm_socket"
	// keySerialLog is the guest's serial console log. stepRunVM puts it;
	// stepWaitForSSH and stepShutdown quote its tail in their errors.
	keySerialLog stateKey[string] = "serial_log"
	// keyVNCPort is the VM's VNC display port, when VNC is on. stepRunVM
	// puts it; stepTypeBootCommand reads it.
	keyVNCPort stateKey[int] = "vnc_port"
	// keySerialConsole types into the serial console, when the boot
	// command is typed over serial. stepRunVM puts it (its
	// console.Recorder); stepTypeBootCommand reads it.
	keySerialConsole stateKey[io.Writer] = "serial_console"
	// keyVNCPassword is the VNC display's password. stepRunVM puts it;
	// stepTypeBootCommand reads it.
	keyVNCPassword stateKey[string] = "vnc_password"
	// keyVM is the running QEMU. stepRunVM puts it; stepWarmContinue,
	// stepWaitForSSH, stepWarmSave and stepShutdown read it.
	keyVM stateKey[qemu.VM] = "vm"
	// keyVMWatch watches the running VM. stepRunVM puts it; stepShutdown
	// tells it the power-off is expected, stepWarmRestore's Cleanup asks
	// it why the VM ended.
	keyVMWatch stateKey[*vmwatch.Watch] = "vm_watch"
	// keyWarm is the warm start's run (warmState): stepWarmRestore puts
	// it when warm_start is on; stepRunVM (warmQemuArgs),
	// stepWarmContinue, stepWarmResumed and stepWarmSave read it.
	keyWarm stateKey[*warmState] = "warm"
)

// The image, put by stepSnapshot and read by Builder.artifact.
const (
	// keyImagePath is the image written into the output directory.
	keyImagePath stateKey[string] = "image_path"
	// keyImageChecksum is the image's SHA-256 in hex.
	keyImageChecksum stateKey[string] = "image_checksum"
	// keyChecksumPath is the image's checksum file.
	keyChecksumPath stateKey[string] = "checksum_path"
	// keyImageBackingFile is the source image an overlay image stands on.
	keyImageBackingFile stateKey[string] = "image_backing_file"
	// keyAdditionalDiskImages are the additional disks' images, in order.
	keyAdditionalDiskImages stateKey[[]string] = "additional_disk_images"
	// keyAdditionalDiskChecksums are their SHA-256 sums, in the same
	// order; no step reads them (the checksum files hold them too).
	keyAdditionalDiskChecksums stateKey[[]string] = "additional_disk_checksums"
)

// warmState is one build's warm start, stored under keyWarm when warm_start
// is on. stepWarmRestore creates it; the steps after it read it.
type warmState struct {
	// Cache is the warm-start cache, Key this build's entry name in it and
	// Inputs what Key was computed from (stepWarmSave writes them into
	// the entry's manifest).
	Cache  warmstart.Cache
	Key    string
	Inputs warmstart.KeyInputs
	// Started is when the warm start began: what the boot costs is
	// measured from it.
	Started time.Time
	// QemuArgs are the arguments stepRunVM adds to QEMU's command line.
	QemuArgs []string
	// Entry is the entry the build resumes from; nil on a cold boot.
	// stepWarmContinue and stepWarmResumed act only when it is set,
	// stepWarmSave only when it is not.
	Entry *warmstart.Entry
	// Resumed is set by stepWarmResumed once the resumed guest answered:
	// stepWarmRestore's Cleanup then keeps the entry.
	Resumed bool
}

// warmOf returns the build's warm start: an empty one, not stored, when
// warm start is off or has not run.
func warmOf(state multistep.StateBag) *warmState {
	if w := keyWarm.Get(state); w != nil {
		return w
	}
	return &warmState{}
}

// halt stops the build with err: the runner and runError find it in the
// bag, and the user reads it now.
func halt(state multistep.StateBag, err error) multistep.StepAction {
	keyError.Put(state, err)
	keyUI.Get(state).Error(err.Error())
	return multistep.ActionHalt
}
