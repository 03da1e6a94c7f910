package kvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testSHA256 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func minimalConfig() map[string]interface{} {
	return map[string]interface{}{
		"source_image_url":      "debian.qcow2",
		"source_image_checksum": testSHA256,
		"ssh_username":          "packer",
		"packer_build_name":     "base",
	}
}

func prepare(t *testing.T, overrides map[string]interface{}) (*Config, []string, error) {
	t.Helper()
	raw := minimalConfig()
	for k, v := range overrides {
		if v == nil {
			delete(raw, k)
		} else {
			raw[k] = v
		}
	}
	var c Config
	warnings, err := c.Prepare(raw)
	return &c, warnings, err
}

func TestConfig_defaults(t *testing.T) {
	c, warnings, err := prepare(t, nil)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("minimal config: err %v warnings %v", err, warnings)
	}
	checks := map[string][2]interface{}{
		"output_directory": {c.OutputDir, "output-base"},
		"image_name":       {c.ImageName, "base"},
		"format":           {c.Format, "qcow2"},
		"compression":      {c.Compression, "zstd"},
		"output_mode":      {c.OutputMode, "standalone"},
		"accelerator":      {c.Accelerator, "auto"},
		"machine_type":     {c.MachineType, "q35"},
		"firmware":         {c.Firmware, "bios"},
		"memory":           {c.Memory, 2048},
		"shutdown_timeout": {c.ShutdownTimeout, 5 * time.Minute},
		"key type":         {c.Comm.SSHTemporaryKeyPairType, "ed25519"},
		"clear keys":       {c.Comm.SSHClearAuthorizedKeys, true},
	}
	for name, pair := range checks {
		if pair[0] != pair[1] {
			t.Errorf("%s defaults to %v, want %v", name, pair[0], pair[1])
		}
	}
	if !strings.HasPrefix(c.Comm.SSHTemporaryKeyPairName, "packer_") {
		t.Errorf("temporary key comment %q", c.Comm.SSHTemporaryKeyPairName)
	}
	if c.CPUs < 1 || c.CPUs > 2 {
		t.Errorf("cpus defaults to %d", c.CPUs)
	}
}

func TestConfig_rawDefaultsToNoCompression(t *testing.T) {
	c, _, err := prepare(t, map[string]interface{}{"format": "raw"})
	if err != nil || c.Compression != "none" {
		t.Fatalf("raw: compression %q err %v", c.Compression, err)
	}
}

func TestConfig_noneChecksumWarns(t *testing.T) {
	_, warnings, err := prepare(t, map[string]interface{}{"source_image_checksum": "none"})
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "not be verified") {
		t.Fatalf("err %v warnings %v", err, warnings)
	}
}

func TestConfig_diskSizeParsing(t *testing.T) {
	for in, want := range map[string]int64{"20G": 20 << 30, "10240M": 10240 << 20, "4096": 4096 << 20, "1T": 1 << 40, "512MB": 512 << 20} {
		c, _, err := prepare(t, map[string]interface{}{"disk_size": in})
		if err != nil || c.diskSizeBytes != want {
			t.Errorf("disk_size %q: %d (err %v), want %d", in, c.diskSizeBytes, err, want)
		}
	}
}

func TestConfig_userDataFileIsRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ud.yaml")
	os.WriteFile(path, []byte("#cloud-config\npackages: [curl]\n"), 0o644)
	c, _, err := prepare(t, map[string]interface{}{"user_data_file": path})
	if err != nil || !strings.Contains(c.UserData, "curl") {
		t.Fatalf("user_data_file not read: %q %v", c.UserData, err)
	}
}

// Each invalid configuration must fail with an error naming the field.
func TestConfig_invalid(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "packer_cache")
	t.Setenv("PACKER_CACHE_DIR", cache)
	existing := filepath.Join(t.TempDir(), "vars.fd")
	os.WriteFile(existing, nil, 0o644)
	cases := []struct {
		name     string
		override map[string]interface{}
		mention  string
	}{
		{"missing source", map[string]interface{}{"source_image_url": nil}, "source_image_url is required"},
		{"missing checksum", map[string]interface{}{"source_image_checksum": nil}, "source_image_checksum is required"},
		{"checksum without type", map[string]interface{}{"source_image_checksum": "0123abcd"}, "has no type"},
		{"unknown checksum type", map[string]interface{}{"source_image_checksum": "crc32:0123abcd"}, "not supported"},
		{"short sha256", map[string]interface{}{"source_image_checksum": "sha256:abc"}, "64 hexadecimal"},
		{"non-hex sha512", map[string]interface{}{"source_image_checksum": "sha512:" + strings.Repeat("z", 128)}, "128 hexadecimal"},
		{"empty file checksum", map[string]interface{}{"source_image_checksum": "file:"}, "checksum index"},
		{"unknown format", map[string]interface{}{"format": "vmdk"}, "format \"vmdk\""},
		{"unknown compression", map[string]interface{}{"compression": "lz4"}, "compression \"lz4\""},
		{"compressed raw", map[string]interface{}{"format": "raw", "compression": "zstd"}, "does not apply to format \"raw\""},
		{"unknown output mode", map[string]interface{}{"output_mode": "thin"}, "output_mode"},
		{"overlay raw", map[string]interface{}{"output_mode": "overlay", "format": "raw"}, "needs format \"qcow2\""},
		{"unknown accelerator", map[string]interface{}{"accelerator": "xen"}, "accelerator \"xen\""},
		{"another OS's accelerator", map[string]interface{}{"accelerator": "whpx"}, "accelerator \"whpx\" runs only on Windows hosts"},
		{"unknown firmware", map[string]interface{}{"firmware": "coreboot"}, "firmware \"coreboot\""},
		{"too little memory", map[string]interface{}{"memory": 64}, "memory 64"},
		{"too much memory", map[string]interface{}{"memory": 4 << 20}, "memory"},
		{"negative cpus", map[string]interface{}{"cpus": -1}, "cpus -1"},
		{"too many cpus", map[string]interface{}{"cpus": 1000}, "cpus 1000"},
		{"bad disk size", map[string]interface{}{"disk_size": "big"}, "disk_size"},
		{"zero disk size", map[string]interface{}{"disk_size": "0G"}, "disk_size"},
		{"host cpu under tcg", map[string]interface{}{"accelerator": "tcg", "cpu_model": "host"}, "cpu_model \"host\""},
		{"efi code without uefi", map[string]interface{}{"efi_firmware_code": existing}, "only applies with firmware"},
		{"missing efi vars", map[string]interface{}{"firmware": "uefi", "efi_firmware_vars": "/nonexistent/VARS.fd"}, "efi_firmware_vars"},
		{"image name with path", map[string]interface{}{"image_name": "a/b"}, "image_name"},
		{"unreadable user_data_file", map[string]interface{}{"user_data_file": "/nonexistent/ud"}, "user_data_file"},
		{"both user data forms", map[string]interface{}{"user_data": "#cloud-config\n{}", "user_data_file": existing}, "both set"},
		{"invalid cloud-config", map[string]interface{}{"user_data": "#cloud-config\npackages: [nginx\n"}, "invalid #cloud-config YAML"},
		{"cloud-config not a map", map[string]interface{}{"user_data": "#cloud-config\n- a\n- b\n"}, "user_data"},
		{"unknown user data format", map[string]interface{}{"user_data": "hello"}, "must start with"},
		{"invalid network config", map[string]interface{}{"network_config": "version: [2"}, "network_config"},
		{"empty qemuargs entry", map[string]interface{}{"qemuargs": [][]string{{}}}, "qemuargs[0]"},
		{"qemuargs -machine", map[string]interface{}{"qemuargs": [][]string{{"-machine", "pc"}}}, `qemuargs[0] "-machine": it replaces the builder's machine (QEMU takes the last one): set machine_type`},
		{"qemuargs -M", map[string]interface{}{"qemuargs": [][]string{{"-device", "virtio-balloon"}, {"-M", "pc"}}}, `qemuargs[1] "-M"`},
		{"qemuargs --machine", map[string]interface{}{"qemuargs": [][]string{{"--machine", "pc"}}}, "set machine_type"},
		{"qemuargs -daemonize", map[string]interface{}{"qemuargs": [][]string{{"-daemonize"}}}, `qemuargs[0] "-daemonize"`},
		{"qemuargs -incoming", map[string]interface{}{"qemuargs": [][]string{{"-incoming", "tcp:0:4444"}}}, `qemuargs[0] "-incoming"`},
		{"qemuargs -cpu", map[string]interface{}{"qemuargs": [][]string{{"-cpu", "qemu64"}}}, "set cpu_model"},
		{"qemuargs -m", map[string]interface{}{"qemuargs": [][]string{{"-m", "4G"}}}, "set memory"},
		{"qemuargs -smp", map[string]interface{}{"qemuargs": [][]string{{"-smp", "4"}}}, "set cpus"},
		{"qemuargs -accel", map[string]interface{}{"qemuargs": [][]string{{"-accel", "tcg"}}}, "set accelerator"},
		{"qemuargs -enable-kvm", map[string]interface{}{"qemuargs": [][]string{{"-enable-kvm"}}}, "set accelerator"},
		{"qemuargs -bios", map[string]interface{}{"qemuargs": [][]string{{"-bios", "/usr/share/ovmf/OVMF.fd"}}}, "set firmware"},
		{"qemuargs pflash drive", map[string]interface{}{"qemuargs": [][]string{{"-drive", "if=pflash,format=raw,file=/x.fd"}}}, "replaces the builder's firmware"},
		{"qemuargs -vnc", map[string]interface{}{"qemuargs": [][]string{{"-vnc", ":1"}}}, "replaces the builder's VNC display"},
		{"qemuargs -display", map[string]interface{}{"qemuargs": [][]string{{"-display", "gtk"}}}, "set vnc = true"},
		{"qemuargs -nographic", map[string]interface{}{"qemuargs": [][]string{{"-nographic"}}}, "moves the serial console"},
		{"qemuargs -S", map[string]interface{}{"qemuargs": [][]string{{"-S"}}}, "stay paused"},
		{"qemuargs -snapshot", map[string]interface{}{"qemuargs": [][]string{{"-snapshot"}}}, "would not hold the build"},
		{"qemuargs option later in an entry", map[string]interface{}{"qemuargs": [][]string{{"-device", "virtio-balloon", "-machine", "pc"}}}, `qemuargs[0] "-machine"`},
		{"winrm", map[string]interface{}{"communicator": "winrm", "winrm_username": "a"}, "communicator \"winrm\""},
		{"no ssh user", map[string]interface{}{"ssh_username": nil}, "ssh_username"},
		{"blank source", map[string]interface{}{"source_image_url": "  \t"}, "source_image_url is required"},
		{"blank checksum", map[string]interface{}{"source_image_checksum": " "}, "source_image_checksum is required"},
		{"blank ssh user", map[string]interface{}{"ssh_username": "   "}, "ssh_username is blank"},
		{"blank output directory", map[string]interface{}{"output_directory": " "}, "output_directory is blank"},
		{"output directory is a file", map[string]interface{}{"output_directory": existing}, "is an existing file"},
		{"blank image name", map[string]interface{}{"image_name": "  "}, "image_name is blank"},
		{"image name dot-dot", map[string]interface{}{"image_name": ".."}, `image_name ".." is not a file name`},
		{"image name dot", map[string]interface{}{"image_name": "."}, `image_name "." is not a file name`},
		{"image name backslash", map[string]interface{}{"image_name": `a\b`}, "not a path"},
		{"image name with a newline", map[string]interface{}{"image_name": "web\nserver"}, "holds a control character"},
		{"image name with a carriage return", map[string]interface{}{"image_name": "web\r"}, "holds a control character"},
		{"image name with the work prefix", map[string]interface{}{"image_name": ".packer-kvm-web"}, "prefix of the builder's own work files"},
		{"output directory is the root", map[string]interface{}{"output_directory": "/"}, "is the filesystem's root"},
		{"output directory is the root, unclean", map[string]interface{}{"output_directory": "/tmp/.."}, "is the filesystem's root"},
		{"output directory is the current directory", map[string]interface{}{"output_directory": "."}, "holds the current directory"},
		{"output directory is a parent of the current directory", map[string]interface{}{"output_directory": ".."}, "holds the current directory"},
		{"output directory is Packer's cache", map[string]interface{}{"output_directory": cache}, "Packer's cache directory"},
		{"output directory holds Packer's cache", map[string]interface{}{"output_directory": filepath.Dir(cache)}, "Packer's cache directory"},
		{"output directory in Packer's cache", map[string]interface{}{"output_directory": filepath.Join(cache, "out")}, "Packer's cache directory"},
		{"negative shutdown timeout", map[string]interface{}{"shutdown_timeout": "-1s"}, "shutdown_timeout is negative"},
		{"negative probe timeout", map[string]interface{}{"accelerator_probe_timeout": "-5s"}, "accelerator_probe_timeout is negative"},
		{"negative ssh timeout", map[string]interface{}{"ssh_timeout": "-1m"}, "ssh_timeout is negative"},
		{"negative keep-alive", map[string]interface{}{"ssh_keep_alive_interval": "-1s"}, "ssh_keep_alive_interval is negative"},
		{"negative pause before connecting", map[string]interface{}{"pause_before_connecting": "-1s"}, "pause_before_connecting is negative"},
		{"negative read-write timeout", map[string]interface{}{"ssh_read_write_timeout": "-1s"}, "ssh_read_write_timeout is negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := prepare(t, tc.override)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error does not mention %q:\n%v", tc.mention, err)
			}
		})
	}
}

func TestConfig_errorsAreAggregated(t *testing.T) {
	_, _, err := prepare(t, map[string]interface{}{"format": "vmdk", "memory": 1, "accelerator": "x"})
	for _, field := range []string{"format", "memory", "accelerator"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("aggregated error lacks %s: %v", field, err)
		}
	}
}

func TestConfig_unknownKeyIsRejected(t *testing.T) {
	_, _, err := prepare(t, map[string]interface{}{"disk_sizee": "10G"})
	if err == nil || !strings.Contains(err.Error(), "disk_sizee") {
		t.Fatalf("unknown key accepted: %v", err)
	}
}

// During `packer validate`, a data source's outputs reach the builder as
// Packer's "<unknown>" placeholder: they must pass, and be checked by the
// build's Prepare once known.
func TestConfig_unknownValuesPassValidateAndAreCheckedOnceKnown(t *testing.T) {
	unknown := map[string]interface{}{}
	for _, key := range []string{"source_image_url", "source_image_checksum", "format", "compression",
		"output_mode", "accelerator", "firmware", "disk_size", "image_name", "output_directory", "user_data"} {
		unknown[key] = "<unknown>"
	}
	if _, _, err := prepare(t, unknown); err != nil {
		t.Fatalf("unknown placeholders rejected at validate time: %v", err)
	}
	// Once known, the same fields are checked.
	_, _, err := prepare(t, map[string]interface{}{"source_image_checksum": "abc", "format": "vmdk"})
	if err == nil || !strings.Contains(err.Error(), "has no type") || !strings.Contains(err.Error(), `format "vmdk"`) {
		t.Fatalf("known bad values accepted: %v", err)
	}
}

// qemuargs that add devices or settings the builder does not govern pass.
func TestConfig_qemuargsThatAddAreAccepted(t *testing.T) {
	_, _, err := prepare(t, map[string]interface{}{"qemuargs": [][]string{
		{"-device", "virtio-balloon"},
		{"-drive", "file=/data/extra.img,if=none,id=extra,format=raw"},
		{"-netdev", "user,id=net1"},
		{"-smbios", "type=1,serial=abc"},
		{"-rtc", "base=utc"},
		{"-global", "ICH9-LPC.disable_s3=1"},
	}})
	if err != nil {
		t.Fatalf("qemuargs that only add were refused: %v", err)
	}
}
