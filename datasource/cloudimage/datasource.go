//go:generate packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput
//go:generate packer-sdc struct-markdown

// Package cloudimage is the `kvm-cloudimage` data source: it resolves a
// distribution's published cloud image to a URL and checksum from the
// checksum index published beside it.
package cloudimage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/zclconf/go-cty/cty"
)

// Config is the configuration of the `kvm-cloudimage` data source.
type Config struct {
	// URL of the checksum index that lists the images: `https://`,
	// `http://`, `file://` or a local path (for mirrors and air-gapped
	// sites), 16 MiB at most. Read are GNU lines (`<hex>  <name>`,
	// `<hex> *<name>`, or one space as openSUSE writes), BSD lines
	// (`SHA256 (<name>) = <hex>`), and a digest alone in a per-file index
	// such as Alpine's `<image>.sha512` (the image is then the index's name
	// less its suffix), also inside a PGP clear-signed message.
	IndexURL string `mapstructure:"index_url" required:"true"`
	// RE2 regular expression the image's file name must match, such as
	// `^debian-12-genericcloud-amd64(-(?P<version>[0-9-]+))?\.qcow2$`. A
	// named group `version` orders the matches for `most_recent`.
	NameRegex string `mapstructure:"name_regex"`
	// A shell glob the file name must match, such as
	// `Fedora-Cloud-Base-Generic-*.x86_64.qcow2`, instead of `name_regex`.
	NameGlob string `mapstructure:"name_glob"`
	// Pick the highest version when several names match (natural order of
	// the `version` group, or of the whole name). Without it, more than one
	// match is an error that lists them.
	MostRecent bool `mapstructure:"most_recent"`
	// An ASCII-armored OpenPGP public key (or keyring). When set, the
	// index must carry a valid signature by it, clear-signed or detached
	// (`signature_url`); otherwise the build stops.
	PublicKey string `mapstructure:"public_key"`
	// Like `public_key`, read from a file.
	PublicKeyFile string `mapstructure:"public_key_file"`
	// URL of a detached signature of the index, such as `SHA256SUMS.gpg`.
	// Needs `public_key`.
	SignatureURL string `mapstructure:"signature_url"`
	// Time limit of each HTTP request. Defaults to `30s`.
	Timeout time.Duration `mapstructure:"timeout"`
	// How many times a failed request is tried again (network errors and
	// HTTP 5xx/429). Defaults to 3.
	Retries int `mapstructure:"retries"`
	// Accept an image whose name in the index leads outside the index's
	// directory: a relative path with `..`, an absolute path, or an
	// absolute URL to another host or scheme (http, https and file only).
	// Off by default, so that a careless or tampered index cannot send the
	// build to another server or to a file elsewhere on this machine.
	AllowForeignURLs bool `mapstructure:"allow_foreign_urls"`
}

// DatasourceOutput is what the data source returns.
type DatasourceOutput struct {
	// Absolute URL of the image, resolved against the index URL.
	URL string `mapstructure:"url"`
	// Checksum ready for `source_image_checksum`: `sha256:<hex>` or
	// `sha512:<hex>` (the index's algorithm).
	Checksum string `mapstructure:"checksum"`
	// File name of the image.
	Name string `mapstructure:"name"`
	// The `version` capture group of the match, empty when there is none.
	Version string `mapstructure:"version"`
	// The index the image was found in.
	IndexURL string `mapstructure:"index_url"`
}

// Datasource is the `kvm-cloudimage` data source.
type Datasource struct {
	config Config
	re     *regexp.Regexp
	// publicKey is public_key, or the content of public_key_file.
	publicKey string
	// retryBackoff is the first pause between HTTP retries; zero is
	// defaultRetryBackoff (tests shorten it).
	retryBackoff time.Duration
}

// defaultRetryBackoff is the first pause between HTTP retries.
const defaultRetryBackoff = time.Second

func (d *Datasource) ConfigSpec() hcldec.ObjectSpec { return d.config.FlatMapstructure().HCL2Spec() }

func (d *Datasource) OutputSpec() hcldec.ObjectSpec {
	return (&DatasourceOutput{}).FlatMapstructure().HCL2Spec()
}

// Configure validates the configuration. It does no I/O, so that
// `packer validate` stays offline.
func (d *Datasource) Configure(raws ...interface{}) error {
	if err := config.Decode(&d.config, nil, raws...); err != nil {
		return err
	}
	c := &d.config
	c.applyDefaults()
	errs := d.resolveInputs()
	if c.IndexURL == "" {
		errs = packersdk.MultiErrorAppend(errs, errors.New("index_url is required: the URL of a checksum index such as .../SHA512SUMS"))
	}
	switch {
	case c.NameRegex == "" && c.NameGlob == "":
		errs = packersdk.MultiErrorAppend(errs, errors.New("name_regex or name_glob is required: a pattern of the image's file name"))
	case c.NameRegex != "" && c.NameGlob != "":
		errs = packersdk.MultiErrorAppend(errs, errors.New("name_regex and name_glob are both set: keep one"))
	case c.NameRegex == "":
		if _, err := path.Match(c.NameGlob, ""); err != nil {
			errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("name_glob: %w", err))
		}
	}
	if c.PublicKey != "" && c.PublicKeyFile != "" {
		errs = packersdk.MultiErrorAppend(errs, errors.New("public_key and public_key_file are both set: keep one"))
	}
	if c.SignatureURL != "" && c.PublicKey == "" && c.PublicKeyFile == "" {
		errs = packersdk.MultiErrorAppend(errs, errors.New("signature_url needs public_key (or public_key_file) to verify it with"))
	}
	if c.Timeout < 0 || c.Retries < 0 {
		errs = packersdk.MultiErrorAppend(errs, errors.New("timeout and retries must not be negative"))
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

func (c *Config) applyDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
}

// resolveInputs compiles name_regex and reads public_key_file (unless
// public_key is set too, which validation refuses), so that validation
// only reads the config; its errors are those of parsing and reading.
func (d *Datasource) resolveInputs() *packersdk.MultiError {
	var errs *packersdk.MultiError
	c := &d.config
	if c.NameRegex != "" {
		re, err := regexp.Compile(c.NameRegex)
		if err != nil {
			errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("name_regex is not a valid RE2 expression: %w", err))
		}
		d.re = re
	}
	if c.PublicKeyFile != "" && c.PublicKey == "" {
		key, err := os.ReadFile(c.PublicKeyFile)
		if err != nil {
			errs = packersdk.MultiErrorAppend(errs, fmt.Errorf("public_key_file: %w", err))
		}
		d.publicKey = string(key)
	}
	if c.PublicKey != "" {
		d.publicKey = c.PublicKey
	}
	return errs
}

// Execute fetches the index, verifies it when a key is given, and picks
// the image.
func (d *Datasource) Execute() (cty.Value, error) {
	empty := cty.NullVal(cty.EmptyObject)
	out, err := d.resolve(context.Background())
	if err != nil {
		return empty, err
	}
	return hcl2helper.HCL2ValueFromConfig(out, d.OutputSpec()), nil
}

func (d *Datasource) resolve(ctx context.Context) (DatasourceOutput, error) {
	c := &d.config
	f := fetcher{Timeout: c.Timeout, Retries: c.Retries, Backoff: cmp.Or(d.retryBackoff, defaultRetryBackoff)}
	body, foundAt, err := f.Get(ctx, c.IndexURL)
	if err != nil {
		return DatasourceOutput{}, err
	}
	if d.publicKey != "" {
		var signature []byte
		if c.SignatureURL != "" {
			if signature, _, err = f.Get(ctx, c.SignatureURL); err != nil {
				return DatasourceOutput{}, err
			}
		}
		if err := verifyIndex(body, signature, d.publicKey); err != nil {
			return DatasourceOutput{}, fmt.Errorf("the index %s failed signature verification: %w", c.IndexURL, err)
		}
	}
	idx, err := parseIndex(body, indexFileName(foundAt))
	if err != nil {
		return DatasourceOutput{}, fmt.Errorf("reading the index %s: %w", c.IndexURL, err)
	}
	entry, version, err := selectImage(idx.Entries, matcher{re: d.re, glob: c.NameGlob}, c.MostRecent)
	if err != nil {
		return DatasourceOutput{}, fmt.Errorf("in %s: %w", c.IndexURL, err)
	}
	imageURL, err := resolveURL(foundAt, entry.Name, c.AllowForeignURLs)
	if err != nil {
		return DatasourceOutput{}, err
	}
	return DatasourceOutput{
		URL:      imageURL,
		Checksum: entry.Algorithm + ":" + entry.Digest,
		Name:     entry.Name,
		Version:  version,
		IndexURL: c.IndexURL,
	}, nil
}
