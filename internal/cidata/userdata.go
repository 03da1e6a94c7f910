// Package cidata builds the cloud-init NoCloud seed of a build: the
// builder's own cloud-config (the build user, its key and password hash)
// merged with the user's user-data, the meta-data, and the "cidata"
// volume that carries them (written with internal/iso9660).
package cidata

import (
	"bytes"
	"errors"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"

	"gopkg.in/yaml.v3"
)

// User is what the builder's own user-data needs to know to let the
// build in over SSH.
type User struct {
	Name      string
	PublicKey string
	// PasswordHash is the crypt(3) hash of ssh_password: the plain text
	// never reaches the guest.
	PasswordHash string
	// FastBoot limits the build boot's host keys to ed25519.
	FastBoot bool
	// Bootcmd, when set, is the shell command of the builder's bootcmd:
	// the caller's record of what it takes back after the build (see the
	// builder's build access), run before cloud-init creates users.
	Bootcmd string
}

// builderCloudConfig is the #cloud-config the builder always sends: the
// build user with the temporary key and passwordless sudo, and the
// caller's bootcmd (which makes the build hostname resolve and records
// what the builder restores after the build).
func builderCloudConfig(u User) map[string]interface{} {
	user := map[string]interface{}{
		"name":  u.Name,
		"sudo":  "ALL=(ALL) NOPASSWD:ALL",
		"shell": "/bin/bash",
	}
	if u.PublicKey != "" {
		user["ssh_authorized_keys"] = []interface{}{strings.TrimSpace(u.PublicKey)}
	}
	cfg := map[string]interface{}{"users": []interface{}{user}}
	if u.PasswordHash != "" {
		// hashed_passwd, unlike passwd, applies to an existing user too.
		user["lock_passwd"] = false
		user["hashed_passwd"] = u.PasswordHash
	}
	if u.Bootcmd != "" {
		cfg["bootcmd"] = []interface{}{u.Bootcmd}
	}
	if u.FastBoot {
		cfg["ssh_genkeytypes"] = []interface{}{"ed25519"}
		// Per-instance work a build boot does not need, each a second or
		// more of CPU under TCG: generating the locale, recording grub's
		// install device, printing host keys to the console. The image
		// keeps its own settings, and clones do all of it on first boot.
		cfg["locale"] = false
		cfg["grub_dpkg"] = map[string]interface{}{"enabled": false}
		cfg["ssh"] = map[string]interface{}{"emit_keys_to_console": false}
	}
	return cfg
}

// MergeUserData combines the builder's cloud-config with the user's own
// user-data. A #cloud-config document is merged key by key so that one
// document reaches cloud-init; any other format (scripts, boothooks,
// includes, MIME) is sent beside ours as a multipart message.
func MergeUserData(userData string, u User) (string, error) {
	ours := builderCloudConfig(u)
	trimmed := strings.TrimLeft(userData, " \t\r\n")
	switch {
	case trimmed == "":
		return renderCloudConfig(ours)
	case strings.HasPrefix(trimmed, "#cloud-config"):
		var theirs map[string]interface{}
		if err := yaml.Unmarshal([]byte(trimmed), &theirs); err != nil {
			return "", fmt.Errorf("invalid #cloud-config YAML: %w", err)
		}
		if theirs == nil && strings.TrimSpace(strings.TrimPrefix(trimmed, "#cloud-config")) != "" {
			return "", errors.New("#cloud-config must be a YAML mapping of cloud-init keys")
		}
		if err := checkListKeys(theirs); err != nil {
			return "", err
		}
		return renderCloudConfig(mergeMaps(ours, theirs))
	}
	contentType, err := partContentType(trimmed)
	if err != nil {
		return "", err
	}
	own, err := renderCloudConfig(ours)
	if err != nil {
		return "", err
	}
	return multipartUserData([][2]string{{"text/cloud-config", own}, {contentType, userData}})
}

// checkListKeys refuses a users or bootcmd that is not a list: these lists
// carry the build's access, and the user's value is appended to ours (a
// null or a scalar would replace the build user or the build-access
// bootcmd).
func checkListKeys(theirs map[string]interface{}) error {
	for _, key := range []string{"users", "bootcmd"} {
		if v, set := theirs[key]; set {
			if _, ok := v.([]interface{}); !ok {
				return fmt.Errorf("#cloud-config %s must be a list (the builder adds its own entry to it)", key)
			}
		}
	}
	return nil
}

// partContentType maps cloud-init's user-data markers to MIME types.
func partContentType(data string) (string, error) {
	markers := []struct{ prefix, mime string }{
		{"#!", "text/x-shellscript"},
		{"#cloud-boothook", "text/cloud-boothook"},
		{"#include", "text/x-include-url"},
		{"#part-handler", "text/part-handler"},
		{"Content-Type: multipart", "multipart/mixed"},
	}
	for _, m := range markers {
		if strings.HasPrefix(data, m.prefix) {
			return m.mime, nil
		}
	}
	return "", errors.New("user-data must start with #cloud-config, #!, #cloud-boothook, #include or be a MIME multipart message")
}

func multipartUserData(parts [][2]string) (string, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", p[0]+`; charset="utf-8"`)
		h.Set("MIME-Version", "1.0")
		pw, err := w.CreatePart(h)
		if err != nil {
			return "", err
		}
		if _, err := pw.Write([]byte(p[1])); err != nil {
			return "", err
		}
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	header := fmt.Sprintf("Content-Type: multipart/mixed; boundary=%q\nMIME-Version: 1.0\n\n", w.Boundary())
	return header + body.String(), nil
}

// mergeMaps merges b into a: nested maps merge, lists append, and for any
// other value the user's (b) wins.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, bv := range b {
		switch av := out[k].(type) {
		case map[string]interface{}:
			if bm, ok := bv.(map[string]interface{}); ok {
				out[k] = mergeMaps(av, bm)
				continue
			}
		case []interface{}:
			if bl, ok := bv.([]interface{}); ok {
				out[k] = append(append([]interface{}{}, av...), bl...)
				continue
			}
		}
		out[k] = bv
	}
	return out
}

func renderCloudConfig(cfg map[string]interface{}) (string, error) {
	body, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	return "#cloud-config\n" + string(body), nil
}

// ValidateYAML reports whether doc (such as a network-config) parses as
// YAML.
func ValidateYAML(doc string) error {
	var v interface{}
	return yaml.Unmarshal([]byte(doc), &v)
}
