//go:generate packer-sdc mapstructure-to-hcl2 -type Config,Target
//go:generate packer-sdc struct-markdown

// Package export is the `kvm-export` post-processor: it writes a disk image
// in the formats other platforms import, with checksums.
package export

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// Target is one output of the export.
type Target struct {
	// Output format: `qcow2`, `raw`, `vmdk`, `vhdx`, `vhd`, `vdi` or `gce`.
	Format string `mapstructure:"format" required:"true"`
	// Outer compression of the output file: `none` (default), `gzip`,
	// `zstd` or `xz`.
	Compression string `mapstructure:"compression"`
	// For `vhd`: write a fixed-size VHD (as Azure requires).
	Fixed bool `mapstructure:"fixed"`
}

// Config is the configuration of the `kvm-export` post-processor.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// One block per output.
	Targets []Target `mapstructure:"target" required:"true"`
	// Checksum file written beside the outputs: `sha256` (default),
	// `sha512` or `none`.
	Checksum string `mapstructure:"checksum"`
	// Directory of the outputs. Defaults to the input image's directory.
	OutputDirectory string `mapstructure:"output_directory"`
	// Keep the input artifact's files after the export.
	KeepInputArtifact bool `mapstructure:"keep_input_artifact"`

	ctx interpolate.Context
}

var validFormats = []string{"qcow2", "raw", "vmdk", "vhdx", "vhd", "vdi", "gce"}

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
	}, raws...)
	if err != nil {
		return err
	}
	var errs *packersdk.MultiError
	if len(p.config.Targets) == 0 {
		errs = packersdk.MultiErrorAppend(errs, errors.New("at least one target block is required, such as target { format = \"vmdk\" }"))
	}
	for i, t := range p.config.Targets {
		if !contains(validFormats, t.Format) {
			errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("target[%d].format %q is not valid: use one of %s", i, t.Format, strings.Join(validFormats, ", ")))
		}
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, artifact packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	return nil, false, false, errors.New("kvm-export: not implemented yet")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
