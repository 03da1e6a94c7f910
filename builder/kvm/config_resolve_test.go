package kvm

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// Prepare's validation only reads the config: what the build uses is set
// by applyDefaults and resolve, so validating a config twice, or one that
// failed, never leaves it half-changed.
func TestConfigValidation_readsOnly(t *testing.T) {
	userData := filepath.Join(t.TempDir(), "user-data")
	os.WriteFile(userData, []byte("#cloud-config\npackages: [htop]\n"), 0o644)
	c, _, err := prepare(t, map[string]interface{}{
		"disk_size": "4G", "user_data_file": userData, "download_stall_timeout": "1m", "boot_progress_timeout": "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.diskSizeBytes != 4<<30 || c.UserData == "" || c.downloadStallTimeout != time.Minute || c.bootProgressTimeout != 0 {
		t.Fatalf("resolved %d %q %s %s", c.diskSizeBytes, c.UserData, c.downloadStallTimeout, c.bootProgressTimeout)
	}
	// As it stood before resolve.
	c.diskSizeBytes, c.UserData, c.userDataFromFile = 0, "", false
	c.downloadStallTimeout, c.bootProgressTimeout = 0, 0
	before := *c
	var warnings []string
	c.validateSource(&warnings)
	c.validateOutput()
	c.validateMachine()
	c.validateCloudInit()
	if !reflect.DeepEqual(before, *c) {
		t.Fatalf("validation changed the config:\nbefore %+v\nafter  %+v", before, *c)
	}
}

// user_data_file's content becomes the user data, and both set is refused.
func TestConfigResolve_userDataFile(t *testing.T) {
	userData := filepath.Join(t.TempDir(), "user-data")
	os.WriteFile(userData, []byte("#cloud-config\npackages: [htop]\n"), 0o644)
	c, _, err := prepare(t, map[string]interface{}{"user_data_file": userData})
	if err != nil || c.UserData != "#cloud-config\npackages: [htop]\n" {
		t.Fatalf("user data %q, %v", c.UserData, err)
	}
	_, _, err = prepare(t, map[string]interface{}{"user_data_file": userData, "user_data": "#cloud-config\n"})
	if err == nil {
		t.Fatal("user_data and user_data_file both accepted")
	}
}
