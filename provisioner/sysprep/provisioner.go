//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

// Package sysprep is the `kvm-sysprep` provisioner: it generalizes a Linux
// guest so every clone of the image boots unique and clean.
package sysprep

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// Config is the configuration of the `kvm-sysprep` provisioner.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// The operations to run: operation names, `defaults` for the safe
	// default set, and `-name` to leave one out. Defaults to `["defaults"]`.
	Operations []string `mapstructure:"operations"`
	// Users to remove with the `user-account` operation. Defaults to the
	// build's SSH user.
	RemoveUsers []string `mapstructure:"remove_users"`
	// How the generated script is run with root rights. Defaults to
	// `sudo -n sh -c '{{ .Command }}'`.
	ExecuteCommand string `mapstructure:"execute_command"`
	// Report what each operation would do without changing anything.
	DryRun bool `mapstructure:"dry_run"`

	ctx interpolate.Context
}

// operationNames are the operations the provisioner knows, named like
// virt-sysprep's where they overlap.
var operationNames = []string{
	"machine-id", "ssh-hostkeys", "cloud-init", "logfiles", "bash-history",
	"package-manager-cache", "tmp-files", "dhcp-client-state", "net-persistent",
	"crash-data", "random-seed", "utmp", "ssh-userdir", "user-account", "trim",
}

// Provisioner is the `kvm-sysprep` provisioner.
type Provisioner struct {
	config Config
}

func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

func (p *Provisioner) Prepare(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:         "kvm-sysprep",
		Interpolate:        true,
		InterpolateContext: &p.config.ctx,
		InterpolateFilter:  &interpolate.RenderFilter{Exclude: []string{"execute_command"}},
	}, raws...)
	if err != nil {
		return err
	}
	if len(p.config.Operations) == 0 {
		p.config.Operations = []string{"defaults"}
	}
	var errs *packersdk.MultiError
	for _, op := range p.config.Operations {
		name := strings.TrimPrefix(op, "-")
		if name != "defaults" && !contains(operationNames, name) {
			errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("operations: unknown operation %q; valid operations are defaults, %s", op, strings.Join(sorted(operationNames), ", ")))
		}
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generatedData map[string]interface{}) error {
	return errors.New("kvm-sysprep: not implemented yet")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sorted(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}
