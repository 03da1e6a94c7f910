package kvm

import (
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

func TestConfig_watchTimeoutsDefaultAndDisable(t *testing.T) {
	c, _, err := prepare(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.downloadStallTimeout != 2*time.Minute || c.bootProgressTimeout != 3*time.Minute || c.ForceShutdownOnTimeout {
		t.Fatalf("defaults: stall %s, boot progress %s, force %v", c.downloadStallTimeout, c.bootProgressTimeout, c.ForceShutdownOnTimeout)
	}
	c, _, err = prepare(t, map[string]interface{}{"download_stall_timeout": "0", "boot_progress_timeout": "0", "force_shutdown_on_timeout": true})
	if err != nil {
		t.Fatal(err)
	}
	if c.downloadStallTimeout != 0 || c.bootProgressTimeout != 0 || !c.ForceShutdownOnTimeout {
		t.Fatalf("\"0\" must disable: stall %s, boot progress %s, force %v", c.downloadStallTimeout, c.bootProgressTimeout, c.ForceShutdownOnTimeout)
	}
	c, _, err = prepare(t, map[string]interface{}{"download_stall_timeout": "45s", "boot_progress_timeout": "10m"})
	if err != nil || c.downloadStallTimeout != 45*time.Second || c.bootProgressTimeout != 10*time.Minute {
		t.Fatalf("set values: %v %s %s", err, c.downloadStallTimeout, c.bootProgressTimeout)
	}
}

func TestConfig_badWatchTimeoutsNameTheField(t *testing.T) {
	_, _, err := prepare(t, map[string]interface{}{"download_stall_timeout": "-1m", "boot_progress_timeout": "soon"})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`download_stall_timeout "-1m" is negative`, `boot_progress_timeout "soon" is not a duration`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// During packer validate a data source's value is a placeholder.
func TestConfig_watchTimeoutsAcceptUnknownValues(t *testing.T) {
	_, _, err := prepare(t, map[string]interface{}{"download_stall_timeout": validate.Unknown, "boot_progress_timeout": validate.Unknown})
	if err != nil {
		t.Fatalf("an unknown value was rejected: %v", err)
	}
}
