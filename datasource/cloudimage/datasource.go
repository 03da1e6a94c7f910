//go:generate packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput
//go:generate packer-sdc struct-markdown

// Package cloudimage is the `kvm-cloudimage` data source: it resolves a
// distribution's published cloud image to a URL and checksum.
package cloudimage

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/zclconf/go-cty/cty"
)

// Config is the configuration of the `kvm-cloudimage` data source.
type Config struct {
	// URL (or local path) of the checksum index that lists the images,
	// such as Debian's SHA512SUMS.
	IndexURL string `mapstructure:"index_url" required:"true"`
	// RE2 regular expression the image's file name must match. A named
	// group `version` is used to order matches.
	NameRegex string `mapstructure:"name_regex"`
	// Pick the highest version when several names match; otherwise more
	// than one match is an error.
	MostRecent bool `mapstructure:"most_recent"`
}

// DatasourceOutput is what the data source returns.
type DatasourceOutput struct {
	// Absolute URL of the image.
	URL string `mapstructure:"url"`
	// Checksum ready for `source_image_checksum`, such as `sha512:<hex>`.
	Checksum string `mapstructure:"checksum"`
	// File name of the image.
	Name string `mapstructure:"name"`
	// The `version` capture group of the match, if any.
	Version string `mapstructure:"version"`
	// The index the image was found in.
	IndexURL string `mapstructure:"index_url"`
}

// Datasource is the `kvm-cloudimage` data source.
type Datasource struct {
	config Config
}

func (d *Datasource) ConfigSpec() hcldec.ObjectSpec { return d.config.FlatMapstructure().HCL2Spec() }

func (d *Datasource) Configure(raws ...interface{}) error {
	if err := config.Decode(&d.config, nil, raws...); err != nil {
		return err
	}
	var errs *packersdk.MultiError
	if d.config.IndexURL == "" {
		errs = packersdk.MultiErrorAppend(errs, errors.New("index_url is required: the URL of a checksum index such as SHA512SUMS"))
	}
	if d.config.NameRegex == "" {
		errs = packersdk.MultiErrorAppend(errs, errors.New("name_regex is required: a pattern of the image file name"))
	} else if _, err := regexp.Compile(d.config.NameRegex); err != nil {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("name_regex: %w", err))
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

func (d *Datasource) OutputSpec() hcldec.ObjectSpec {
	return (&DatasourceOutput{}).FlatMapstructure().HCL2Spec()
}

func (d *Datasource) Execute() (cty.Value, error) {
	return cty.NullVal(cty.EmptyObject), errors.New("kvm-cloudimage: not implemented yet")
}
