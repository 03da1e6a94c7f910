package kvm

import (
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
)

func TestConfig_warmStartRefusesOverlayOutput(t *testing.T) {
	c := &Config{WarmStart: true, OutputMode: "overlay"}
	if errs := c.validateWarmStart(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "warm_start") {
		t.Fatalf("got %v", errs)
	}
	c.OutputMode = "standalone"
	if errs := c.validateWarmStart(); len(errs) != 0 {
		t.Fatalf("got %v", errs)
	}
}

func TestConfig_warmStartRefusesWhatTheSavedStateCannotHold(t *testing.T) {
	for option, c := range map[string]*Config{
		"tpm":              {WarmStart: true, TPM: true},
		"additional_disks": {WarmStart: true, AdditionalDisks: []AdditionalDisk{{Size: "1G"}}},
		"iso_url":          {WarmStart: true, ISOConfig: commonsteps.ISOConfig{RawSingleISOUrl: "installer.iso"}},
	} {
		errs := c.validateWarmStart()
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "warm_start does not work with "+option) {
			t.Errorf("%s: got %v", option, errs)
		}
		c.WarmStart = false
		if errs := c.validateWarmStart(); len(errs) != 0 {
			t.Errorf("%s without warm_start: got %v", option, errs)
		}
	}
}
