//go:generate packer-sdc mapstructure-to-hcl2 -type Config,AdditionalDisk
//go:generate packer-sdc struct-markdown

package kvm

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
	"github.com/hashicorp/packer-plugin-sdk/uuid"

	"github.com/kvmforge/packer-plugin-kvm/internal/cidata"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// Config is the configuration of the `kvm` builder. The field comments are
// the user documentation: `make generate` turns them into docs-partials.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`
	Comm                communicator.Config `mapstructure:",squash"`

	// The cloud image to boot: a local path, a `file://` URL or an
	// `http(s)://` URL. It is downloaded once into Packer's cache and never
	// modified; the build writes to a copy-on-write overlay on top of it.
	// Required unless the build starts from an installer ISO (`iso_url`).
	SourceImageURL string `mapstructure:"source_image_url"`
	// The checksum of the source image: `sha256:<hex>`, `sha512:<hex>`,
	// `file:<url or path of a checksum index>`, or `none` to skip the check
	// (a warning is printed). A mismatch stops the build before boot.
	SourceImageChecksum string `mapstructure:"source_image_checksum"`
	// How long an `http(s)://` download of the source image may receive no
	// data (waiting for the server's answer, or mid-transfer) before it is
	// abandoned, its partial file removed, and the build failed. Defaults
	// to `2m`; `"0"` waits as long as Packer's own read timeout (30m).
	DownloadStallTimeout string `mapstructure:"download_stall_timeout"`

	// Directory the image and its checksum file are written to. Defaults to
	// `output-<source label>`; when another build of the same run uses that
	// directory (sources renamed with `name` share their label), the next
	// free `output-<source label>-<n>`. Use `packer build -force` to replace
	// it. A build locks its directory: a second build pointed at the same
	// directory fails while the first runs. Since `-force` empties it, the
	// filesystem's root, the current directory and its parents, and
	// Packer's cache directory (with its parents and what lies inside it)
	// are refused.
	OutputDir string `mapstructure:"output_directory"`
	// File name of the image, without extension. Defaults to the last
	// part of the default output directory (`<source label>[-<n>]`). A
	// plain file name: no path separator, no control character (the
	// checksum file names it on one line), and not starting with
	// `.packer-kvm-`, the prefix of the builder's work files.
	ImageName string `mapstructure:"image_name"`
	// `qcow2` (default) or `raw`.
	Format string `mapstructure:"format"`
	// Compression of a qcow2 image: `zstd` (default: as small as `zlib` and
	// several times faster), `zlib`, or `none`. A raw image is never compressed.
	Compression string `mapstructure:"compression"`
	// `standalone` (default) flattens the disk into a self-contained image.
	// `overlay` keeps a thin qcow2 that references the source image in
	// Packer's cache: fast for layered iterations, but not portable.
	OutputMode string `mapstructure:"output_mode"`
	// Virtual size of the build's disk, such as `20G` or `10240M`. The disk
	// is grown to this size before boot (cloud-init grows the root
	// partition); it may not be smaller than the source image. Defaults to
	// the source image's size. Required for an installer build (`iso_url`):
	// the size of its blank disk.
	DiskSize string `mapstructure:"disk_size"`

	// `auto` (default) uses the host's own accelerator: on Linux KVM, when
	// /dev/kvm is present and proves it can run a guest within a few
	// seconds; on macOS `hvf` (Hypervisor.framework); on Windows `whpx`
	// (the Windows Hypervisor Platform feature). Otherwise it falls back to
	// TCG software emulation, saying why in its `Accelerator:` line. On
	// Linux, a build that KVM stops before SSH anyway (an internal error, an
	// aborting QEMU) is restarted once under TCG from a fresh start, and the
	// host's verdict is remembered in Packer's cache (`kvm-accelerator/`)
	// for the next build. `kvm`, `hvf` and `whpx` name
	// one and fail fast when it cannot run the guest (each only on its own
	// OS); `tcg` always emulates. Linux hosts are tested end to end; macOS
	// and Windows builds are compiled and unit-tested only.
	Accelerator string `mapstructure:"accelerator"`
	// QEMU CPU model. Defaults to `host` under KVM; under TCG, `max` for
	// x86_64 and `max,pauth-impdef=on` for aarch64 (QEMU 6.2 or later; set
	// `max` on an older QEMU).
	CPUModel string `mapstructure:"cpu_model"`
	// QEMU machine type. Defaults to `q35` for x86_64 and
	// `virt,gic-version=max,highmem=on` for aarch64.
	MachineType string `mapstructure:"machine_type"`
	// The guest's architecture: `x86_64` (or `amd64`) or `aarch64` (or
	// `arm64`). Defaults to the host's. It sets the defaults of
	// `qemu_binary`, `machine_type`, `cpu_model` and `firmware`. KVM runs
	// only guests of the host's architecture: any other runs under TCG
	// emulation (an arm64 guest boots in a few minutes on an x86_64 host).
	Arch string `mapstructure:"arch"`
	// Number of virtual CPUs. Defaults to 2 (at most the host's count).
	CPUs int `mapstructure:"cpus"`
	// Memory of the build VM in MiB. Defaults to 2048; at least 256.
	Memory int `mapstructure:"memory"`
	// `bios` (default) or `uefi`. UEFI uses OVMF, chosen by QEMU's
	// firmware descriptors (`/usr/share/qemu/firmware`, `/etc/qemu/firmware`,
	// `~/.config/qemu/firmware`) for the guest's architecture, machine type
	// and `secure_boot`, as libvirt does; a host without descriptors (macOS,
	// Windows) searches the usual places. Each build gets its own copy of
	// the variables file. aarch64 guests always boot UEFI (AAVMF, edk2's
	// arm64 build): `uefi` is their default and `bios` an error.
	Firmware string `mapstructure:"firmware"`
	// Path of the UEFI code file, instead of the one the firmware
	// descriptors choose. A qcow2 file (by its magic) is mapped as qcow2,
	// any other as raw.
	EFIFirmwareCode string `mapstructure:"efi_firmware_code"`
	// Path of the UEFI variables template the build copies, instead of the
	// one the firmware descriptors choose; raw or qcow2, like
	// `efi_firmware_code`.
	EFIFirmwareVars string `mapstructure:"efi_firmware_vars"`
	// The QEMU system emulator. Defaults to `qemu-system-<arch>`.
	QemuBinary string `mapstructure:"qemu_binary"`
	// The qemu-img binary. Defaults to `qemu-img`.
	QemuImgBinary string `mapstructure:"qemu_img_binary"`
	// Extra QEMU arguments appended to the command line, one list per
	// option, for example `[["-device", "virtio-rng-pci"]]`. An escape
	// hatch that adds to the builder's devices: options that would replace
	// what a builder option governs (`-machine`, `-cpu`, `-m`, `-smp`,
	// `-accel`, the firmware, the display) are refused with the option to
	// use instead, and so are `-daemonize`, `-incoming`, `-S` and
	// `-snapshot`, which break the build's control of QEMU.
	QemuArgs [][]string `mapstructure:"qemuargs"`
	// Expose the VM's display over VNC on 127.0.0.1 (a free port from 5900
	// up), protected by a random password made for the build: the port and
	// the path of a file only you can read that holds the password are
	// printed at boot. Off by default: builds are headless (an installer
	// build with a `boot_command` always has it).
	VNC bool `mapstructure:"vnc"`
	// Keep the VM's serial console log at this path. By default it is kept
	// in a temporary file that is removed after the build; its tail is
	// always shown when boot or SSH fails.
	SerialLogFile string `mapstructure:"serial_log_file"`

	// Your own cloud-init user-data, merged with the builder's (which
	// creates `ssh_username` with the build's SSH key and passwordless
	// sudo). A `#cloud-config` document is merged key by key (lists are
	// appended); a script or any other format is sent beside it as a
	// MIME multipart message.
	UserData string `mapstructure:"user_data"`
	// Like `user_data`, read from a file. Not both.
	UserDataFile string `mapstructure:"user_data_file"`
	// A cloud-init network-config (version 1 or 2), written to the seed as
	// is. By default cloud-init configures DHCP on the first interface.
	NetworkConfig string `mapstructure:"network_config"`
	// Speed up the build boot (default true): cloud-init generates only an
	// ed25519 host key instead of also an RSA-3072 one (which costs ~15 s
	// under TCG), and skips per-instance work a build does not need
	// (generating the locale, grub's debconf device, printing host keys to
	// the console). Your `user_data` can set any of it back. Clones regenerate every host key type, and set their
	// locale, on their own first boot.
	FastBoot config.Trilean `mapstructure:"fast_boot"`
	// Wait for `cloud-init status --wait` before provisioning, so
	// provisioners never race cloud-init or its apt runs. Default true for
	// a cloud image, false for an installer build (`iso_url`), whose
	// installed system usually has no cloud-init.
	WaitForCloudInit config.Trilean `mapstructure:"wait_for_cloud_init"`
	// Remove the build's temporary SSH key from the guest's
	// authorized_keys before shutdown. Default true.
	RemoveTemporaryKey config.Trilean `mapstructure:"remove_temporary_key"`
	// Keep the access the builder gave its user for the build in the image:
	// the `ssh_password` login (SSH password authentication), the
	// passwordless sudo rule, and the build hostname's /etc/hosts entry. By
	// default (false) all of it is taken away before shutdown; the password
	// never reaches the guest in plain text (only its SHA-512 crypt hash,
	// removed again with the rest).
	KeepBuildAccess bool `mapstructure:"keep_build_access"`

	// Command run over SSH to shut the guest down, such as
	// `sudo systemctl poweroff`. By default the builder sends an ACPI
	// power-down over QMP, which needs nothing from the guest.
	ShutdownCommand string `mapstructure:"shutdown_command"`
	// How long to wait for the guest to power off. A guest still running
	// then fails the build, with the serial console's last lines, and no
	// image is written: its filesystems would need recovery. Defaults to `5m`.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// Stop QEMU when `shutdown_timeout` expires and keep the image anyway
	// (with a warning), as if the power were cut. Off by default.
	ForceShutdownOnTimeout bool `mapstructure:"force_shutdown_on_timeout"`
	// How long `accelerator = "auto"` lets KVM prove it can run a guest
	// (a probe guest that goes through real, protected and long mode as a
	// boot loader and kernel do) before falling back to TCG. A working KVM
	// passes in about a second. Defaults to `10s`.
	AcceleratorProbeTimeout time.Duration `mapstructure:"accelerator_probe_timeout"`
	// How long the guest may show no sign of progress while the build waits
	// for SSH. For a cloud image the sign is output on the serial console:
	// boot loaders, kernels and systemd print there, so a silent console
	// means an unbootable or hung guest. An installer build (`iso_url`) also
	// counts what a person watching would see, since installers such as
	// Debian's and Ubuntu's print nothing on the serial console: its screen
	// changing (sampled every 5 seconds; a blinking cursor does not count)
	// and its disks being read or written. Either way the build then fails
	// with the console's last lines instead of waiting for `ssh_timeout`.
	// Defaults to `3m` (generous for an emulated boot on a busy host); `"0"`
	// disables it, for images that print nothing on ttyS0.
	BootProgressTimeout string `mapstructure:"boot_progress_timeout"`
	// Warm start, a development and CI-cache accelerator (off by default):
	// the first build from a source saves the booted VM (memory and device
	// state, the disk as it was then, the UEFI variables and the build's
	// SSH key) once the guest is ready for provisioning, under Packer's
	// cache directory (`kvm-warm/`); a later build with the same inputs
	// (source checksum, seed content, machine, CPU, memory, CPUs, firmware,
	// disk size, `qemuargs`, QEMU and plugin versions) resumes that state in
	// seconds instead of booting. Builds resumed from one entry share what
	// the first boot generated (SSH host keys, machine-id, random seed
	// file): run `kvm-sysprep` before shipping such images. Not compatible
	// with `output_mode = "overlay"`. See the warm-start section of the docs.
	WarmStart bool `mapstructure:"warm_start"`

	// Boot with UEFI Secure Boot enforced (needs `firmware = "uefi"` and a
	// `q35` machine). The builder uses OVMF's Secure Boot build (SMM on) and
	// a per-build copy of a variables template with Microsoft's keys
	// enrolled, which trust Debian's, Ubuntu's, Fedora's and Windows' signed
	// boot loaders: the firmware descriptor with the features `secure-boot`,
	// `enrolled-keys` and `requires-smm` chooses them (Debian's and
	// Ubuntu's `OVMF_CODE_4M.secboot.fd` and `OVMF_VARS_4M.ms.fd`, package
	// `ovmf`); `efi_firmware_code` and `efi_firmware_vars` override them. A guest
	// whose boot loader is not signed is refused by the firmware and the
	// build fails with the serial console's last lines.
	SecureBoot bool `mapstructure:"secure_boot"`
	// Give the VM a TPM 2.0: a software TPM (`swtpm`, Debian package
	// `swtpm`) started for the build, its state in the build's work
	// directory, stopped and removed with the VM. The device is `tpm-crb`
	// on `q35`, `tpm-tis` on `pc` machines and `tpm-tis-device` on `virt`.
	TPM bool `mapstructure:"tpm"`
	// The swtpm binary for `tpm = true`. Defaults to `swtpm`.
	SwtpmBinary string `mapstructure:"swtpm_binary"`
	// The disk controller the guest sees: `virtio-blk` (default),
	// `virtio-scsi`, `nvme`, `sata` (AHCI) or `ide` (only on `pc` machines:
	// `q35` has no IDE bus). The guest image needs the matching driver.
	DiskInterface string `mapstructure:"disk_interface"`
	// QEMU's cache mode for the build's disks: `writeback` (default),
	// `none`, `writethrough`, `directsync` or `unsafe`.
	DiskCache string `mapstructure:"disk_cache"`
	// `unmap` (default) passes the guest's TRIM/discard to the image, so
	// `fstrim` in the guest shrinks the output; `ignore` drops it.
	DiskDiscard string `mapstructure:"disk_discard"`
	// `unmap` (default: zeroes the guest writes become holes, needs
	// `disk_discard = "unmap"`), `on` or `off`.
	DiskDetectZeroes string `mapstructure:"disk_detect_zeroes"`
	// Extra empty data disks, attached after the main disk on the same
	// `disk_interface` and written beside the image as
	// `<image_name>-<label>.<format>` (label defaults to `disk<n>`, from 1),
	// each with its own `.sha256` file. One block per disk, such as
	// `additional_disks { size = "4G" }`.
	AdditionalDisks []AdditionalDisk `mapstructure:"additional_disks"`
	// The network card the guest sees: `virtio-net` (default), `e1000`,
	// `e1000e`, `vmxnet3` or `rtl8139`.
	NetDevice string `mapstructure:"net_device"`
	// The network card's MAC address, such as `52:54:00:12:34:56`. Defaults
	// to QEMU's. It must be a unicast address other than
	// `00:00:00:00:00:00` (which QEMU would replace with its own).
	MACAddress string `mapstructure:"mac_address"`
	// Bridged networking (config_network.go): `net_bridge`,
	// `net_bridge_helper`, `net_bridge_address_timeout`.
	BridgeConfig `mapstructure:",squash"`

	// Installer builds (config_iso.go), exclusive with source_image_url:
	// `iso_url`/`iso_urls`, `iso_checksum`, a blank disk of `disk_size`,
	// `boot_command` typed over VNC, `http_directory`/`http_content`,
	// `cd_files`/`cd_content`/`cd_label`, `floppy_files`/`floppy_content`.
	ISOConfig    commonsteps.ISOConfig    `mapstructure:",squash"`
	VNCConfig    bootcommand.VNCConfig    `mapstructure:",squash"`
	HTTPConfig   commonsteps.HTTPConfig   `mapstructure:",squash"`
	CDConfig     commonsteps.CDConfig     `mapstructure:",squash"`
	FloppyConfig commonsteps.FloppyConfig `mapstructure:",squash"`
	// boot_command_input and boot_serial_timeout (config_boot.go).
	BootSerialConfig `mapstructure:",squash"`
	// How an installer build attaches its ISO and its `cd_files` CD:
	// `virtio-scsi` (default: every Linux installer and cloud kernel has
	// the driver, and SeaBIOS and OVMF boot from it) or `sata` (the q35
	// AHCI controller, for installers without virtio drivers such as
	// Windows). The disk boots first and the ISO second, so the blank disk
	// falls through to the installer and, after the installer's reboot,
	// the installed disk boots in the same VM.
	CDROMInterface string `mapstructure:"cdrom_interface"`

	diskSizeBytes int64
	// defaultOutputDir and defaultImageName: the user left them unset, so
	// the builder may pick a free variant at run time.
	defaultOutputDir, defaultImageName bool
	ctx                                interpolate.Context

	// Parsed from the fields of the same name ("0" disables them).
	downloadStallTimeout, bootProgressTimeout time.Duration
	// userDataFromFile: resolve read UserData from UserDataFile.
	userDataFromFile bool
	// installer: the build starts from an installer ISO alone
	// (applyInstallerDefaults, config_iso.go).
	installer bool
	// httpOnBridge: with net_bridge, the HTTP server listens on the
	// host's address on the bridge, as the user named no address of
	// their own (config_network.go).
	httpOnBridge bool

	// arch is the guest architecture's spec (config_arch.go).
	arch qemu.Arch
	// hostOS is the GOOS accelerators are checked against (this host's
	// when empty), so tests can check other hosts' choices.
	hostOS string
}

// Accepted values of the enumerated options, in the order the docs list them.
var (
	validFormats      = []string{"qcow2", "raw"}
	validCompressions = []string{"zstd", "zlib", "none"}
	validOutputModes  = []string{"standalone", "overlay"}
	validAccelerators = []string{"auto", "kvm", "hvf", "whpx", "tcg"}
	validFirmwares    = []string{"bios", "uefi"}
)

const (
	minMemoryMiB = 256
	maxMemoryMiB = 1 << 20
	maxCPUs      = 255
)

// Prepare decodes the raw configuration, applies defaults and validates it.
func (c *Config) Prepare(raws ...interface{}) ([]string, error) {
	var warnings []string
	errs, err := c.settle(&warnings, raws...)
	if err != nil {
		return nil, err
	}
	errs = append(errs, c.validate(&warnings)...)
	if len(errs) > 0 {
		return warnings, packersdk.MultiErrorAppend(nil, errs...)
	}
	packersdk.LogSecretFilter.Set(c.Comm.SSHPassword)
	return warnings, nil
}

// settle decodes the raw configuration, applies the defaults and resolves
// the values derived from them: all that Prepare writes to the config.
// err is the decoder's; errs are those of the communicator's options and
// of resolve.
func (c *Config) settle(warnings *[]string, raws ...interface{}) (errs []error, err error) {
	err = config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderID,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		InterpolateFilter: &interpolate.RenderFilter{
			Exclude: []string{"shutdown_command", "user_data", "qemuargs", "boot_command"},
		},
	}, raws...)
	if err != nil {
		return nil, err
	}
	c.applyDefaults()
	errs = append(errs, c.Comm.Prepare(&c.ctx)...)
	return append(errs, c.resolve(warnings)...), nil
}

// validate checks the config applyDefaults and resolve made; it only
// reads it.
func (c *Config) validate(warnings *[]string) []error {
	var errs []error
	errs = append(errs, c.validateStart(warnings)...)
	errs = append(errs, c.validateOutput()...)
	errs = append(errs, c.validateMachine()...)
	errs = append(errs, c.validateArch()...)
	errs = append(errs, c.validateCloudInit()...)
	errs = append(errs, c.validateHardware()...)
	errs = append(errs, c.validateWarmStart()...)
	errs = append(errs, c.validateNetwork()...)
	errs = append(errs, c.validateBootSerial()...)
	return append(errs, negativeDurations(reflect.ValueOf(c).Elem())...)
}

func (c *Config) applyDefaults() {
	c.applyBootSerialDefaults()
	c.defaultOutputDir, c.defaultImageName = c.OutputDir == "", c.ImageName == ""
	if c.OutputDir == "" {
		c.OutputDir = "output-" + c.PackerBuildName
	}
	if c.ImageName == "" {
		c.ImageName = c.PackerBuildName
		if c.ImageName == "" {
			c.ImageName = "image"
		}
	}
	setDefault(&c.Format, "qcow2")
	setDefault(&c.OutputMode, "standalone")
	if c.Compression == "" {
		c.Compression = "zstd"
		if c.Format == "raw" {
			c.Compression = "none"
		}
	}
	setDefault(&c.Accelerator, "auto")
	c.applyArchDefaults()
	setDefault(&c.QemuImgBinary, "qemu-img")
	c.applyHardwareDefaults()
	c.applyNetworkDefaults() // before the installer's HTTP address default
	c.applyInstallerDefaults()
	if c.CPUs == 0 {
		c.CPUs = min(2, runtime.NumCPU())
	}
	if c.Memory == 0 {
		c.Memory = 2048
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 5 * time.Minute
	}
	if c.AcceleratorProbeTimeout == 0 {
		c.AcceleratorProbeTimeout = 10 * time.Second
	}
	if c.Comm.Type == "" {
		c.Comm.Type = "ssh"
	}
	if c.Comm.SSHTemporaryKeyPairType == "" {
		// ed25519 keys are generated instantly and every cloud image's
		// sshd accepts them.
		c.Comm.SSHTemporaryKeyPairType = "ed25519"
	}
	if c.Comm.SSHTemporaryKeyPairName == "" {
		// The comment that marks the build's key in authorized_keys.
		c.Comm.SSHTemporaryKeyPairName = "packer_" + uuid.TimeOrderedUUID()
	}
	if !c.RemoveTemporaryKey.False() {
		c.Comm.SSHClearAuthorizedKeys = true
	}
	if c.Comm.SSHTimeout == 0 {
		c.Comm.SSHTimeout = 10 * time.Minute
	}
}

func (c *Config) validateSource(warnings *[]string) []error {
	var errs []error
	if c.Comm.SSHUsername != "" && strings.TrimSpace(c.Comm.SSHUsername) == "" {
		errs = append(errs, errors.New("ssh_username is blank: give the user the build logs in as, such as \"packer\""))
	}
	switch sum := strings.TrimSpace(c.SourceImageChecksum); {
	case validate.IsUnknown(sum):
		// A data source's value, known only when the build runs.
	case sum == "":
		errs = append(errs, errors.New(`source_image_checksum is required: "sha256:<hex>", "sha512:<hex>", "file:<checksum index URL>", or "none" to skip verification`))
	case strings.EqualFold(sum, "none"):
		*warnings = append(*warnings, "source_image_checksum is \"none\": the source image will not be verified")
	default:
		if err := validateChecksum(sum); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// validateChecksum accepts the forms the SDK's downloader understands and
// rejects the common mistakes with a message naming the field and the fix.
func validateChecksum(sum string) error {
	kind, value, found := strings.Cut(sum, ":")
	if !found {
		return fmt.Errorf("source_image_checksum %q has no type: write it as \"sha256:%s\" (or sha512:, file:)", sum, sum)
	}
	if kind == "file" {
		if value == "" {
			return errors.New("source_image_checksum \"file:\" needs the URL or path of a checksum index after the colon")
		}
		return nil
	}
	lengths := map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
	want, known := lengths[strings.ToLower(kind)]
	if !known {
		return fmt.Errorf("source_image_checksum type %q is not supported: use sha256, sha512, sha1, md5 or file", kind)
	}
	if len(value) != want || strings.Trim(strings.ToLower(value), "0123456789abcdef") != "" {
		return fmt.Errorf("source_image_checksum %q is not a %s digest: expected %d hexadecimal characters", sum, kind, want)
	}
	return nil
}

func (c *Config) validateOutput() []error {
	var errs []error
	errs = appendIfErr(errs, validate.OneOf("format", c.Format, validFormats))
	errs = appendIfErr(errs, validate.OneOf("compression", c.Compression, validCompressions))
	errs = appendIfErr(errs, validate.OneOf("output_mode", c.OutputMode, validOutputModes))
	if c.Format == "raw" && c.Compression != "none" {
		errs = append(errs, fmt.Errorf("compression %q does not apply to format \"raw\": remove compression or use format \"qcow2\"", c.Compression))
	}
	if c.OutputMode == "overlay" && c.Format != "qcow2" {
		errs = append(errs, errors.New("output_mode \"overlay\" needs format \"qcow2\": only qcow2 can reference a backing image"))
	}
	errs = appendIfErr(errs, validateImageName(c.ImageName))
	errs = appendIfErr(errs, validateOutputDir(c.OutputDir))
	return errs
}

func (c *Config) validateMachine() []error {
	var errs []error
	errs = appendIfErr(errs, validate.OneOf("accelerator", c.Accelerator, validAccelerators))
	errs = appendIfErr(errs, qemu.AcceleratorHostError(c.Accelerator, cmp.Or(c.hostOS, runtime.GOOS)))
	errs = appendIfErr(errs, validate.OneOf("firmware", c.Firmware, validFirmwares))
	if c.Memory < minMemoryMiB || c.Memory > maxMemoryMiB {
		errs = append(errs, fmt.Errorf("memory %d is out of range: give MiB between %d and %d", c.Memory, minMemoryMiB, maxMemoryMiB))
	}
	if c.CPUs < 1 || c.CPUs > maxCPUs {
		errs = append(errs, fmt.Errorf("cpus %d is out of range: give 1 to %d", c.CPUs, maxCPUs))
	}
	if c.Accelerator == "tcg" && c.CPUModel == "host" {
		errs = append(errs, errors.New("cpu_model \"host\" needs KVM: use accelerator \"kvm\"/\"auto\" or a model such as \"max\""))
	}
	for name, path := range map[string]string{"efi_firmware_code": c.EFIFirmwareCode, "efi_firmware_vars": c.EFIFirmwareVars} {
		if path == "" {
			continue
		}
		if c.Firmware != "uefi" {
			errs = append(errs, fmt.Errorf("%s only applies with firmware = \"uefi\"", name))
		} else if _, err := os.Stat(path); err != nil && !validate.IsUnknown(path) {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	errs = append(errs, c.validateQemuArgs()...) // config_qemuargs.go
	if c.Comm.Type != "ssh" {
		errs = append(errs, fmt.Errorf("communicator %q is not supported: the kvm builder provisions Linux guests over \"ssh\"", c.Comm.Type))
	}
	return errs
}

func (c *Config) validateCloudInit() []error {
	var errs []error
	if c.UserData != "" && c.UserDataFile != "" && !c.userDataFromFile {
		errs = append(errs, errors.New("user_data and user_data_file are both set: keep one"))
	}
	if c.UserData != "" && !validate.IsUnknown(c.UserData) {
		if _, err := cidata.MergeUserData(c.UserData, cidata.User{Name: "packer"}); err != nil {
			errs = append(errs, fmt.Errorf("user_data: %w", err))
		}
	}
	if c.NetworkConfig != "" {
		if err := cidata.ValidateYAML(c.NetworkConfig); err != nil {
			errs = append(errs, fmt.Errorf("network_config is not valid YAML: %w", err))
		}
	}
	return errs
}

// validateImageName accepts a plain file name: image_name becomes
// <output_directory>/<image_name>.<format>, and <image_name>.<format>.sha256
// lists it for sha256sum -c, which reads one name a line.
func validateImageName(name string) error {
	switch {
	case validate.IsUnknown(name):
		return nil
	case strings.TrimSpace(name) == "":
		return errors.New("image_name is blank: give a file name such as \"debian-web\", or leave it unset")
	case name == "." || name == "..":
		return fmt.Errorf("image_name %q is not a file name: give a name such as \"debian-web\"", name)
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("image_name %q must be a file name, not a path: set output_directory for the folder", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("image_name %q holds a control character (such as a newline): the image's checksum file could not name it; give a plain file name", name)
	case strings.HasPrefix(name, workDirPrefix):
		return fmt.Errorf("image_name %q starts with %q, the prefix of the builder's own work files: the next build in the directory would delete it as a killed build's leftover; choose another name", name, workDirPrefix)
	}
	return nil
}

// validateOutputDir refuses a blank path, an existing non-directory, and
// the directories that `-force` (which empties the output directory) must
// never empty: the filesystem's root, the current directory (the
// template's) and its parents, and Packer's cache directory and its parents.
func validateOutputDir(dir string) error {
	if validate.IsUnknown(dir) {
		return nil
	}
	if strings.TrimSpace(dir) == "" {
		return errors.New("output_directory is blank: give a directory path, or leave it unset for output-<source label>")
	}
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return fmt.Errorf("output_directory %q is an existing file, not a directory: choose another path (the builder never deletes a file there, even with -force)", dir)
	}
	abs := realPath(dir)
	if filepath.Dir(abs) == abs {
		return fmt.Errorf("output_directory %q is the filesystem's root: packer build -force empties the output directory; give a directory of its own, such as \"output-web\"", dir)
	}
	if cwd, err := os.Getwd(); err == nil && isSameOrParent(abs, realPath(cwd)) {
		return fmt.Errorf("output_directory %q holds the current directory (%s): packer build -force empties the output directory; give a directory of its own, such as \"output-web\"", dir, cwd)
	}
	if cache, err := packersdk.CachePath(); err == nil && (isSameOrParent(abs, realPath(cache)) || isSameOrParent(realPath(cache), abs)) {
		return fmt.Errorf("output_directory %q is, holds or lies in Packer's cache directory (%s): packer build -force empties the output directory; give a directory outside it", dir, cache)
	}
	return nil
}

// realPath is path made absolute, with its symbolic links resolved as far
// as it exists.
func realPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	var missing []string
	for p := abs; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{real}, missing...)...)
		}
		if filepath.Dir(p) == p {
			return abs
		}
		missing = append([]string{filepath.Base(p)}, missing...)
	}
}

// isSameOrParent tells whether dir is path or one of its parents.
func isSameOrParent(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// negativeDurations names every negative duration option of v (the Config
// and the communicator options it embeds), by its template key.
func negativeDurations(v reflect.Value) []error {
	var errs []error
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		field, value := t.Field(i), v.Field(i)
		if !field.IsExported() {
			continue
		}
		if value.Kind() == reflect.Struct {
			errs = append(errs, negativeDurations(value)...)
			continue
		}
		if value.Type() != reflect.TypeOf(time.Duration(0)) || value.Int() >= 0 {
			continue
		}
		key, _, _ := strings.Cut(field.Tag.Get("mapstructure"), ",")
		errs = append(errs, fmt.Errorf("%s is negative (%s): give a positive duration such as \"5m\", or leave it unset", key, time.Duration(value.Int())))
	}
	return errs
}

func appendIfErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

func defaultQemuBinary() string {
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i386", "ppc64le": "ppc64", "s390x": "s390x", "riscv64": "riscv64"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	return "qemu-system-" + arch
}
