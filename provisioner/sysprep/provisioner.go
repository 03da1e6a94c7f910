//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

// Package sysprep is the `kvm-sysprep` provisioner: it generalizes a Linux
// guest from inside, over the build's communicator, so every clone of the
// image boots unique and clean.
package sysprep

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
	"github.com/hashicorp/packer-plugin-sdk/uuid"
)

// Config is the configuration of the `kvm-sysprep` provisioner.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// The operations to run: operation names, `defaults` for the set that
	// is safe for any image, and `-name` to leave one out, such as
	// `["defaults", "-logfiles", "user-account"]`. Defaults to `["defaults"]`.
	Operations []string `mapstructure:"operations"`
	// Users that `user-account` removes. Defaults to the user the build
	// connects as.
	RemoveUsers []string `mapstructure:"remove_users"`
	// How the generated script runs with root rights; `{{ .Path }}` is the
	// script's path in the guest. Defaults to `sudo -n sh '{{ .Path }}'`
	// (use `sh '{{ .Path }}'` when connecting as root).
	ExecuteCommand string `mapstructure:"execute_command"`
	// Report what each operation would do, changing nothing.
	DryRun bool `mapstructure:"dry_run"`

	ops []operation
	ctx interpolate.Context
}

const defaultExecuteCommand = "sudo -n sh '{{ .Path }}'"

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
	c := &p.config
	c.applyDefaults()
	var errs *packersdk.MultiError
	if c.ops, err = resolveOperations(c.Operations); err != nil {
		errs = packersdk.MultiErrorAppend(errs, err)
	} else if len(c.ops) == 0 {
		errs = packersdk.MultiErrorAppend(errs, errors.New("operations leaves nothing to run: remove the provisioner or add an operation"))
	}
	for _, u := range c.RemoveUsers {
		if !validUser.MatchString(u) {
			errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("remove_users: %q is not a valid user name", u))
		}
		if u == "root" {
			errs = packersdk.MultiErrorAppend(errs, errors.New("remove_users: root cannot be removed"))
		}
	}
	if !strings.Contains(c.ExecuteCommand, "{{ .Path }}") && !strings.Contains(c.ExecuteCommand, "{{.Path}}") {
		errs = packersdk.MultiErrorAppend(errs, errors.New("execute_command must contain {{ .Path }}, the script's path in the guest"))
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// applyDefaults fills what the template left unset; the checks after it
// only read the config (resolveOperations derives the script's list).
func (c *Config) applyDefaults() {
	if len(c.Operations) == 0 {
		c.Operations = []string{"defaults"}
	}
	if c.ExecuteCommand == "" {
		c.ExecuteCommand = defaultExecuteCommand
	}
}

var validUser = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*\$?$`)

func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generatedData map[string]interface{}) error {
	c := &p.config
	users := c.RemoveUsers
	if len(users) == 0 {
		if u, _ := generatedData["User"].(string); u != "" && u != "root" {
			users = []string{u}
		}
	}
	if len(users) == 0 && needsUsers(c.ops) {
		return errors.New("kvm-sysprep: user-account needs a user: set remove_users (the build connects as root or its user is unknown)")
	}

	path := fmt.Sprintf("/tmp/kvm-sysprep-%s.sh", uuid.TimeOrderedUUID())
	body := script(c.ops, users, c.DryRun)
	if err := comm.Upload(path, strings.NewReader(body), nil); err != nil {
		return fmt.Errorf("kvm-sysprep: uploading the script to %s: %w", path, err)
	}
	c.ctx.Data = map[string]string{"Path": path}
	command, err := interpolate.Render(c.ExecuteCommand, &c.ctx)
	if err != nil {
		return fmt.Errorf("kvm-sysprep: execute_command: %w", err)
	}

	mode := "Generalizing the guest"
	if c.DryRun {
		mode = "Dry run: what generalizing the guest would do"
	}
	ui.Say(fmt.Sprintf("%s (%d operations)...", mode, len(c.ops)))
	reported, stderr, exit, err := run(ctx, comm, command, ui)
	if err != nil {
		return fmt.Errorf("kvm-sysprep: %w", err)
	}
	if exit != 0 {
		if strings.Contains(stderr, "a password is required") || strings.Contains(stderr, "not in the sudoers") || strings.Contains(stderr, "may not run sudo") {
			return fmt.Errorf("kvm-sysprep: the build user cannot become root with `sudo -n`: %s. Give it passwordless sudo, or set execute_command (for example `sh '{{ .Path }}'` when connecting as root)", strings.TrimSpace(stderr))
		}
		return fmt.Errorf("kvm-sysprep: the script exited with status %d after %d of %d operations: %s", exit, reported, len(c.ops), strings.TrimSpace(stderr))
	}
	if reported != len(c.ops) {
		return fmt.Errorf("kvm-sysprep: only %d of %d operations reported back: %s", reported, len(c.ops), strings.TrimSpace(stderr))
	}
	return nil
}

func needsUsers(ops []operation) bool {
	for _, op := range ops {
		if op.TakesUsers {
			return true
		}
	}
	return false
}

// run executes the command, relaying each operation's report line to the
// UI, and returns how many operations reported, the standard error, and
// the exit status.
func run(ctx context.Context, comm packersdk.Communicator, command string, ui packersdk.Ui) (int, string, int, error) {
	outR, outW := io.Pipe()
	var stderr strings.Builder
	cmd := &packersdk.RemoteCmd{Command: command, Stdout: outW, Stderr: &stderr}
	reported := make(chan int)
	go func() {
		n := 0
		scanner := bufio.NewScanner(outR)
		for scanner.Scan() {
			line := scanner.Text()
			if rest, ok := strings.CutPrefix(line, "kvm-sysprep: "); ok {
				n++
				ui.Say(rest)
			} else if strings.TrimSpace(line) != "" {
				ui.Say(line)
			}
		}
		io.Copy(io.Discard, outR)
		reported <- n
	}()
	err := comm.Start(ctx, cmd)
	if err == nil {
		cmd.Wait()
	}
	outW.Close()
	n := <-reported
	if err != nil {
		return n, stderr.String(), 0, err
	}
	return n, stderr.String(), cmd.ExitStatus(), nil
}
