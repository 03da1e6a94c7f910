//go:generate packer-sdc mapstructure-to-hcl2 -type Config,Target
//go:generate packer-sdc struct-markdown

// Package export is the `kvm-export` post-processor: it writes a disk image
// in the formats other platforms import, with checksums.
package export

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskid"
	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// BuilderID identifies the export's artifacts.
const BuilderID = "kvmforge.kvm-export"

// Target is one output of the export.
type Target struct {
	// Output format: `qcow2`, `raw`, `vmdk` (vSphere/ESXi), `vhdx`
	// (Hyper-V), `vhd` (Azure), `vdi` (VirtualBox), `gce` (a `disk.raw`
	// in a GNU tar.gz, as Google Compute Engine imports it) or `ova` (an
	// OVF package for vSphere, Workstation and VirtualBox).
	Format string `mapstructure:"format" required:"true"`
	// Compression: `none` (default), `gzip`, `zstd` or `xz`. For `qcow2`
	// it is qcow2's own cluster compression (`zstd`, or `gzip` for zlib):
	// the file stays a bootable qcow2. For the other formats the whole file
	// is compressed, streamed in Go, and its name gets `.gz`, `.zst` or
	// `.xz`. Not for `gce`, which is a tar.gz already.
	Compression string `mapstructure:"compression"`
	// For `vhd`: a fixed-size VHD with its virtual size rounded up to a
	// whole MiB, as Azure requires. Default false (dynamic).
	Fixed bool `mapstructure:"fixed"`
	// For `vmdk`: the subformat, `streamOptimized` (default, what vSphere,
	// ESXi and AWS import) or `monolithicSparse` (VMware Workstation).
	Subformat string `mapstructure:"subformat"`
	// File name of this output without extension; a template like
	// `output_name`, rendered when the export runs. Defaults to the
	// post-processor's `output_name`.
	Name string `mapstructure:"name"`
	// Boot test of this target: `off`, `on` or `warn`; defaults to the
	// post-processor's `boot_test`.
	BootTest string `mapstructure:"boot_test"`

	OVAOptions `mapstructure:",squash"`
}

// Config is the configuration of the `kvm-export` post-processor.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// One block per output.
	Targets []Target `mapstructure:"target" required:"true"`
	// Directory of the outputs. Defaults to the input image's directory.
	OutputDirectory string `mapstructure:"output_directory"`
	// File name of the outputs without extension; a template that may use
	// `{{ .BuildName }}` and the builder's generated data such as
	// `{{ .ImageFormat }}`. Defaults to the input image's name. Names (this
	// one and the targets') may not hold a control character nor start with
	// `.packer-kvm-`, the prefix of the `kvm` builder's work files.
	OutputName string `mapstructure:"output_name"`
	// Checksum file written beside the outputs: `sha256` (default, as
	// SHA256SUMS), `sha512` (SHA512SUMS) or `none`.
	Checksum string `mapstructure:"checksum"`
	// How many targets are converted at once. Defaults to the host's
	// cores.
	Parallel int `mapstructure:"parallel"`
	// The qemu-img binary. Defaults to `qemu-img`.
	QemuImgBinary string `mapstructure:"qemu_img_binary"`
	// Export the kvm builder's additional disks (its `additional_disks`)
	// too: each one to every target, named like the image's output with the
	// disk's suffix (`<output>-<label>.<ext>`), all in one checksum file. An
	// export is whole or absent. Not for `ova` and `gce` targets, which hold
	// one disk. Off by default: only the boot disk is exported.
	IncludeAdditionalDisks bool `mapstructure:"include_additional_disks"`

	BootTestOptions `mapstructure:",squash"`

	ctx interpolate.Context
}

var (
	validFormats      = []string{"qcow2", "raw", "vmdk", "vhdx", "vhd", "vdi", "gce", "ova"}
	validCompressions = []string{"none", "gzip", "zstd", "xz"}
	validSubformats   = []string{"streamOptimized", "monolithicSparse"}
	validChecksums    = []string{"sha256", "sha512", "none"}
)

// PostProcessor is the `kvm-export` post-processor.
type PostProcessor struct {
	config Config
}

func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

func (p *PostProcessor) Configure(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:         "kvm-export",
		Interpolate:        true,
		InterpolateContext: &p.config.ctx,
		// The names are templates rendered at export time, with the build's
		// name and generated data. The SDK's filter sees only top-level
		// keys, so the target blocks are left whole and rendered below
		// without their names.
		InterpolateFilter: &interpolate.RenderFilter{Exclude: []string{"output_name", "target"}},
	}, raws...)
	if err != nil {
		return err
	}
	c := &p.config
	for i := range c.Targets {
		if err := c.Targets[i].renderOptions(&c.ctx); err != nil {
			return fmt.Errorf("target[%d]: %w", i, err)
		}
	}
	c.applyDefaults()
	var errs *packersdk.MultiError
	if len(c.Targets) == 0 {
		errs = packersdk.MultiErrorAppend(errs, errors.New(`at least one target block is required, such as target { format = "vmdk" }`))
	}
	if err := validate.OneOf("checksum", c.Checksum, validChecksums); err != nil {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	if _, err := diskid.Timestamp(); err != nil {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	if c.Parallel < 1 {
		errs = packersdk.MultiErrorAppend(errs, errors.New("parallel must be at least 1"))
	}
	for i := range c.Targets {
		for _, err := range c.Targets[i].validate(i) {
			errs = packersdk.MultiErrorAppend(errs, err)
		}
	}
	for _, err := range c.validateAdditionalDisks() {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	for _, err := range c.validateBootTest() {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	for _, err := range c.validateOutputs() {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// applyDefaults fills what the template left unset; validation then only
// reads the config.
func (c *Config) applyDefaults() {
	if c.Checksum == "" {
		c.Checksum = "sha256"
	}
	if c.Parallel == 0 {
		c.Parallel = runtime.NumCPU()
	}
	if c.QemuImgBinary == "" {
		c.QemuImgBinary = "qemu-img"
	}
	for i := range c.Targets {
		c.Targets[i].applyDefaults()
	}
	c.applyBootTestDefaults()
}

// renderOptions interpolates the target's string options but its name,
// as the decoder does for the other options of the post-processor.
func (t *Target) renderOptions(ctx *interpolate.Context) error {
	return renderStrings(reflect.ValueOf(t).Elem(), ctx)
}

func renderStrings(v reflect.Value, ctx *interpolate.Context) error {
	for i := 0; i < v.NumField(); i++ {
		field, value := v.Type().Field(i), v.Field(i)
		switch {
		case !field.IsExported() || field.Name == "Name":
		case value.Kind() == reflect.Struct:
			if err := renderStrings(value, ctx); err != nil {
				return err
			}
		case value.Kind() == reflect.String:
			rendered, err := interpolate.Render(value.String(), ctx)
			if err != nil {
				key, _, _ := strings.Cut(field.Tag.Get("mapstructure"), ",")
				return fmt.Errorf("%s: %w", key, err)
			}
			value.SetString(rendered)
		}
	}
	return nil
}

// applyDefaults fills a target's unset options.
func (t *Target) applyDefaults() {
	if t.Compression == "" {
		t.Compression = "none"
	}
	if t.Format == "vmdk" && t.Subformat == "" {
		t.Subformat = "streamOptimized"
	}
	t.applyOVADefaults()
}

// validate reports what does not fit the target's format.
func (t Target) validate(i int) []error {
	var errs []error
	field := func(name string) string { return fmt.Sprintf("target[%d].%s", i, name) }
	errs = appendIfErr(errs, validate.OneOf(field("format"), t.Format, validFormats))
	errs = appendIfErr(errs, validate.OneOf(field("compression"), t.Compression, validCompressions))
	if t.Format == "qcow2" && t.Compression == "xz" {
		errs = append(errs, fmt.Errorf("%s \"xz\" does not apply to qcow2: use zstd or gzip (qcow2's own compression)", field("compression")))
	}
	if t.Format == "gce" && t.Compression != "none" {
		errs = append(errs, fmt.Errorf("%s does not apply to format \"gce\": it is a tar.gz already", field("compression")))
	}
	if t.Fixed && t.Format != "vhd" {
		errs = append(errs, fmt.Errorf("%s only applies to format \"vhd\"", field("fixed")))
	}
	if t.Subformat != "" && t.Format != "vmdk" {
		errs = append(errs, fmt.Errorf("%s only applies to format \"vmdk\"; use fixed for vhd", field("subformat")))
	} else if t.Format == "vmdk" {
		errs = appendIfErr(errs, validate.OneOf(field("subformat"), t.Subformat, validSubformats))
	}
	errs = append(errs, t.validateOVA(field)...)
	return errs
}

func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, artifact packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	c := &p.config
	qemuImg := qemuimg.New(c.QemuImgBinary)
	input, info, diskFormat, err := inputImage(ctx, qemuImg, artifact)
	if err != nil {
		return nil, false, false, fmt.Errorf("kvm-export: %w", err)
	}
	perm, err := outputPerm(append([]string{input}, backingFiles(info)...)...)
	if err != nil {
		return nil, false, false, fmt.Errorf("kvm-export: %w", err)
	}
	generated := stringKeys(artifact.State("generated_data"))
	outDir := c.OutputDirectory
	if outDir == "" {
		outDir = filepath.Dir(input)
	}
	plans, err := p.plan(input, outDir, generated)
	if err != nil {
		return nil, false, false, fmt.Errorf("kvm-export: %w", err)
	}
	resolveOVAHardware(plans, generated)
	stamp, err := diskid.Timestamp()
	if err != nil {
		return nil, false, false, fmt.Errorf("kvm-export: %w", err)
	}
	// Hashed beside the conversions; the ids and the artifact need it.
	identity := newIdentity(ctx, input, stamp)
	ui.Say(fmt.Sprintf("Exporting %s (%s, %s virtual) to %d targets, %d at a time", input, info.Format, fileutil.HumanBytes(info.VirtualSize), len(plans), c.Parallel))
	ex := exporter{QemuImg: qemuImg, UI: ui, Source: input, SourceInfo: info, Force: c.PackerForce, Parallel: c.Parallel, Checksum: c.Checksum,
		Perm: perm, DiskFormat: diskFormat, Identity: identity}
	start := time.Now()
	var outputs []Output
	var checksumFile string
	if c.IncludeAdditionalDisks {
		outputs, checksumFile, err = p.exportWithAdditionalDisks(ctx, &ex, plans, artifact.Files(), outDir)
	} else {
		outputs, checksumFile, err = ex.run(ctx, plans, outDir)
	}
	if err != nil {
		return nil, false, false, fmt.Errorf("kvm-export: %w", err)
	}
	ui.Say(fmt.Sprintf("Export took %s", time.Since(start).Round(10*time.Millisecond)))
	bootTests, err := p.runBootTests(ctx, ui, plans, generated)
	if err != nil {
		// An export whose outputs do not boot is no export.
		_ = fileutil.RemoveFiles(append(outputPaths(outputs), checksumFile))
		return nil, false, false, fmt.Errorf("kvm-export: %w", err)
	}
	sourceSum, _ := identity.seed(ctx)
	return &Artifact{
		Outputs:       outputs,
		ChecksumFile:  checksumFile,
		Source:        input,
		SourceSHA256:  sourceSum,
		SourceImageID: upstreamSourceID(artifact),
		VirtualSize:   info.VirtualSize,
		GeneratedData: generated,
		BootTests:     bootTests,
	}, false, false, nil
}

func appendIfErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

// backingFiles is the overlay's backing file, whose data the outputs hold
// too (inputImage accepted it), or none.
func backingFiles(info *qemuimg.Info) []string {
	if info.FullBackingFile == "" {
		return nil
	}
	return []string{info.FullBackingFile}
}
