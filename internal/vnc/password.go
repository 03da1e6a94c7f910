package vnc

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// PasswordLength is what VNC authentication uses of a password: it
// DES-encrypts a challenge with the first 8 bytes.
const PasswordLength = 8

// passwordAlphabet leaves out the characters that are easily misread.
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// NewPassword returns a random password for the build's VNC display, which
// would otherwise let any local user type into the guest's console. It is
// kept out of the plugin's logs.
func NewPassword() (string, error) {
	b := make([]byte, PasswordLength)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
		if err != nil {
			return "", fmt.Errorf("generating the VNC password: %w", err)
		}
		b[i] = passwordAlphabet[n.Int64()]
	}
	packersdk.LogSecretFilter.Set(string(b))
	return string(b), nil
}

// SetPassword gives QEMU's VNC server (started with password=on, which
// refuses every client until a password is set) the build's password.
func SetPassword(ctx context.Context, vm qemu.VM, password string) error {
	_, err := vm.Command(ctx, "set_password", map[string]interface{}{"protocol": "vnc", "password": password})
	if err != nil {
		return fmt.Errorf("setting the VNC display's password: %w", err)
	}
	return nil
}

// WritePasswordFile writes the password, readable by its owner only, in
// the build's work directory, which is removed with the build.
func WritePasswordFile(workDir, password string) (string, error) {
	path := filepath.Join(workDir, "vnc-password")
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the VNC password: %w", err)
	}
	return path, nil
}
