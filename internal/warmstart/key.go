package warmstart

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// KeyInputs is everything that makes one booted guest differ from
// another. Two builds resume from the same entry only when all are equal.
type KeyInputs struct {
	Source        string        `json:"source"`
	SeedHostname  string        `json:"seed_hostname"`
	SeedUser      string        `json:"seed_user"`
	SeedFastBoot  bool          `json:"seed_fast_boot"`
	SeedPassword  string        `json:"seed_password_hmac,omitempty"`
	UserData      string        `json:"user_data_hmac"`
	NetworkConfig string        `json:"network_config_hmac"`
	Accelerator   string        `json:"accelerator"`
	Machine       string        `json:"machine"`
	CPU           string        `json:"cpu"`
	CPUs          int           `json:"cpus"`
	MemoryMiB     int           `json:"memory_mib"`
	Firmware      string        `json:"firmware"`
	EFICode       string        `json:"efi_code_sha256,omitempty"`
	EFIVars       string        `json:"efi_vars_sha256,omitempty"`
	DiskSize      int64         `json:"disk_size"`
	Hardware      qemu.Hardware `json:"hardware"`
	Arch          string        `json:"arch"`
	VNC           bool          `json:"vnc"`
	QemuArgs      []string      `json:"qemu_args,omitempty"`
	QemuVersion   string        `json:"qemu_version"`
	PluginVersion string        `json:"plugin_version"`
}

// Key is the SHA-256 of the inputs' canonical JSON: the entry's name in
// the cache.
func (in KeyInputs) Key() string {
	data, _ := json.Marshal(in)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Texts are the template's texts that the key names by their keyed
// digest: the password, a secret, and the cloud-init documents, which may
// hold secrets too.
type Texts struct {
	Password      string
	UserData      string
	NetworkConfig string
}

// WithTexts returns the inputs naming t's texts by their HMAC-SHA-256
// under secret, the cache's own key (Cache.Secret).
func (in KeyInputs) WithTexts(secret []byte, t Texts) KeyInputs {
	in.SeedPassword = keyedDigest(secret, t.Password)
	in.UserData = keyedDigest(secret, t.UserData)
	in.NetworkConfig = keyedDigest(secret, t.NetworkConfig)
	return in
}

// keyedDigest names a secret or a long text in the key inputs: its
// HMAC-SHA-256 under the cache's key ("" for an empty text).
func keyedDigest(secret []byte, s string) string {
	if s == "" {
		return ""
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(s))
	return hex.EncodeToString(mac.Sum(nil))
}

// QemuArgsInput is the template's qemu_args as KeyInputs.QemuArgs holds
// them: every argument list followed by a NUL, so that lists split
// differently never key alike.
func QemuArgsInput(lists [][]string) []string {
	var flat []string
	for _, a := range lists {
		flat = append(flat, a...)
		flat = append(flat, "\x00")
	}
	return flat
}

// ShortKey is how messages name a key: its first 12 digits.
func ShortKey(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}
