package kvm

import (
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func decodeCloudConfig(t *testing.T, doc string) map[string]interface{} {
	t.Helper()
	if !strings.HasPrefix(doc, "#cloud-config\n") {
		t.Fatalf("not a cloud-config: %q", doc)
	}
	var m map[string]interface{}
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMergeUserData_cloudConfigListsAppendAndScalarsFollowTheUser(t *testing.T) {
	user := "#cloud-config\nusers:\n  - name: ops\npackages: [nginx]\nssh_genkeytypes: [rsa]\n"
	out, err := mergeUserData(user, seedUser{Name: "packer", PublicKey: "ssh-ed25519 AAAA k", FastBoot: true})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeCloudConfig(t, out)
	users := m["users"].([]interface{})
	if len(users) != 2 || users[0].(map[string]interface{})["name"] != "packer" || users[1].(map[string]interface{})["name"] != "ops" {
		t.Fatalf("users not merged: %v", users)
	}
	if keys := users[0].(map[string]interface{})["ssh_authorized_keys"].([]interface{}); keys[0] != "ssh-ed25519 AAAA k" {
		t.Fatalf("build key missing: %v", keys)
	}
	if got := m["ssh_genkeytypes"].([]interface{}); len(got) != 2 {
		t.Fatalf("lists must append: %v", got)
	}
	if m["locale"] != false {
		t.Fatalf("fast boot should skip the locale module: %v", m["locale"])
	}
	if m["packages"].([]interface{})[0] != "nginx" {
		t.Fatalf("user's packages lost: %v", m)
	}
}

func TestMergeUserData_fastBootOffKeepsStockHostKeys(t *testing.T) {
	out, _ := mergeUserData("", seedUser{Name: "packer"})
	m := decodeCloudConfig(t, out)
	for _, key := range []string{"ssh_genkeytypes", "locale"} {
		if _, set := m[key]; set {
			t.Fatalf("%s set although fast_boot is off", key)
		}
	}
}

// The password reaches the guest only as a hash; password SSH logins are
// enabled by the builder's bootcmd (which it can take back), not by
// cloud-init's ssh_pwauth (which rewrites sshd_config for good).
func TestMergeUserData_passwordGoesAsAHash(t *testing.T) {
	hash, err := hashPassword("s3cret")
	if err != nil || !strings.HasPrefix(hash, "$6$") || strings.Contains(hash, "s3cret") {
		t.Fatalf("hash %q err %v", hash, err)
	}
	out, _ := mergeUserData("", seedUser{Name: "packer", PasswordHash: hash, Hostname: "packer-base"})
	if strings.Contains(out, "s3cret") {
		t.Fatal("the plain-text password is in the user-data")
	}
	m := decodeCloudConfig(t, out)
	user := m["users"].([]interface{})[0].(map[string]interface{})
	if user["hashed_passwd"] != hash || user["lock_passwd"] != false || m["ssh_pwauth"] != nil {
		t.Fatalf("password login not configured as expected: %v", m)
	}
	if bootcmd := m["bootcmd"].([]interface{}); len(bootcmd) != 1 || !strings.Contains(bootcmd[0].(string), "PasswordAuthentication yes") {
		t.Fatalf("bootcmd does not enable password authentication: %v", m["bootcmd"])
	}
}

func TestMergeUserData_scriptsGoBesideAsMultipart(t *testing.T) {
	script := "#!/bin/sh\necho hi > /tmp/hi\n"
	out, err := mergeUserData(script, seedUser{Name: "packer"})
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := strings.Cut(out, "\n\n")
	_, params, err := mime.ParseMediaType(strings.TrimPrefix(strings.Split(header, "\n")[0], "Content-Type: "))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(strings.NewReader(body), params["boundary"])
	var types, contents []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(p)
		types = append(types, p.Header.Get("Content-Type"))
		contents = append(contents, string(data))
	}
	if len(types) != 2 || !strings.HasPrefix(types[0], "text/cloud-config") || !strings.HasPrefix(types[1], "text/x-shellscript") {
		t.Fatalf("parts %v", types)
	}
	if contents[1] != script {
		t.Fatalf("script changed: %q", contents[1])
	}
}
