package kvm

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"gopkg.in/yaml.v3"

	"github.com/kvmforge/packer-plugin-kvm/internal/cidata"
	"github.com/kvmforge/packer-plugin-kvm/internal/guestaccess"
	"github.com/kvmforge/packer-plugin-kvm/internal/iso9660/isotest"
)

// readSeed returns the seed volume's label and the named files in its
// root, keyed by name.
func readSeed(t *testing.T, state multistep.StateBag, names ...string) (string, map[string]string) {
	t.Helper()
	paths := make([]string, len(names))
	for i, name := range names {
		paths[i] = "/" + name
	}
	label, read := isotest.Read(t, keySeedPath.Get(state), paths...)
	files := map[string]string{}
	for i, name := range names {
		files[name] = read[paths[i]]
	}
	return label, files
}

func TestStepCreateSeed_writesANoCloudVolume(t *testing.T) {
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	step := &stepCreateSeed{
		Hostname:      "packer-base",
		User:          cidata.User{Name: "builder", FastBoot: true},
		PublicKey:     func() string { return "ssh-ed25519 AAAAC3Nza packer_123" },
		UserData:      "#cloud-config\npackages: [nginx]\n",
		NetworkConfig: "version: 2\nethernets: {}\n",
	}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	label, files := readSeed(t, state, "meta-data", "user-data", "network-config")
	if !strings.EqualFold(label, "cidata") {
		t.Fatalf("volume label %q, want cidata", label)
	}
	if !strings.Contains(files["meta-data"], "instance-id: packer-") || !strings.Contains(files["meta-data"], "local-hostname: packer-base") {
		t.Fatalf("meta-data %q", files["meta-data"])
	}
	ud := files["user-data"]
	for _, want := range []string{"#cloud-config", "name: builder", "ssh-ed25519 AAAAC3Nza packer_123", "NOPASSWD:ALL", "- nginx", "ssh_genkeytypes:"} {
		if !strings.Contains(ud, want) {
			t.Errorf("user-data lacks %q:\n%s", want, ud)
		}
	}
	if files["network-config"] != "version: 2\nethernets: {}\n" {
		t.Fatalf("network-config %q", files["network-config"])
	}
}

func TestStepCreateSeed_eachBuildGetsANewInstanceID(t *testing.T) {
	ids := map[string]bool{}
	for i := 0; i < 2; i++ {
		state, _ := testState(t)
		keyWorkDir.Put(state, t.TempDir())
		step := &stepCreateSeed{Hostname: "h", User: cidata.User{Name: "u"}, PublicKey: func() string { return "k" }}
		step.Run(context.Background(), state)
		_, files := readSeed(t, state, "meta-data")
		ids[files["meta-data"]] = true
	}
	if len(ids) != 2 {
		t.Fatal("two builds got the same instance-id: cloud-init would not treat the boot as a first boot")
	}
}

// The password reaches the guest only as a hash; password SSH logins are
// enabled by the builder's bootcmd (which it can take back), not by
// cloud-init's ssh_pwauth (which rewrites sshd_config for good).
func TestStepCreateSeed_passwordGoesAsAHashWithTheBuildAccessBootcmd(t *testing.T) {
	hash, err := guestaccess.HashPassword("s3cret")
	if err != nil || !strings.HasPrefix(hash, "$6$") || strings.Contains(hash, "s3cret") {
		t.Fatalf("hash %q err %v", hash, err)
	}
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	step := &stepCreateSeed{Hostname: "packer-base", User: cidata.User{Name: "packer"}, Password: "s3cret", PublicKey: func() string { return "k" }}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	_, files := readSeed(t, state, "user-data")
	ud := files["user-data"]
	if strings.Contains(ud, "s3cret") {
		t.Fatal("the plain-text password is in the user-data")
	}
	var m map[string]interface{}
	if err := yaml.Unmarshal([]byte(ud), &m); err != nil {
		t.Fatal(err)
	}
	user := m["users"].([]interface{})[0].(map[string]interface{})
	if h, _ := user["hashed_passwd"].(string); !strings.HasPrefix(h, "$6$") || user["lock_passwd"] != false || m["ssh_pwauth"] != nil {
		t.Fatalf("password login not configured as expected: %v", m)
	}
	if bootcmd := m["bootcmd"].([]interface{}); len(bootcmd) != 1 || !strings.Contains(bootcmd[0].(string), "PasswordAuthentication yes") {
		t.Fatalf("bootcmd does not enable password authentication: %v", m["bootcmd"])
	}
}
