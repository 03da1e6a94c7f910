package cidata

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
	out, err := MergeUserData(user, User{Name: "packer", PublicKey: "ssh-ed25519 AAAA k", FastBoot: true})
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
	out, _ := MergeUserData("", User{Name: "packer"})
	m := decodeCloudConfig(t, out)
	for _, key := range []string{"ssh_genkeytypes", "locale"} {
		if _, set := m[key]; set {
			t.Fatalf("%s set although fast_boot is off", key)
		}
	}
}

// The password reaches the guest only as a hash; password SSH logins are
// enabled by the caller's bootcmd (which it can take back), not by
// cloud-init's ssh_pwauth (which rewrites sshd_config for good).
func TestMergeUserData_passwordGoesAsAHashAndTheBootcmdAsGiven(t *testing.T) {
	const hash = "$6$salt$hashed"
	const bootcmd = "printf 'PasswordAuthentication yes\\n' >> /etc/ssh/sshd_config"
	out, err := MergeUserData("", User{Name: "packer", PasswordHash: hash, Bootcmd: bootcmd})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeCloudConfig(t, out)
	user := m["users"].([]interface{})[0].(map[string]interface{})
	if user["hashed_passwd"] != hash || user["lock_passwd"] != false || m["ssh_pwauth"] != nil {
		t.Fatalf("password login not configured as expected: %v", m)
	}
	if got := m["bootcmd"].([]interface{}); len(got) != 1 || got[0] != bootcmd {
		t.Fatalf("bootcmd %v, want the caller's", m["bootcmd"])
	}
}

func TestMergeUserData_noBootcmdWithoutOne(t *testing.T) {
	out, _ := MergeUserData("", User{Name: "packer", PasswordHash: "$6$x"})
	if _, set := decodeCloudConfig(t, out)["bootcmd"]; set {
		t.Fatal("a bootcmd was sent that the caller did not give")
	}
}

func TestMergeUserData_scriptsGoBesideAsMultipart(t *testing.T) {
	script := "#!/bin/sh\necho hi > /tmp/hi\n"
	out, err := MergeUserData(script, User{Name: "packer"})
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

// Found by FuzzMergeUserData: a null or scalar users (or bootcmd) replaced
// the builder's list, and with it the build user.
func TestMergeUserData_usersAndBootcmdMustBeLists(t *testing.T) {
	for _, doc := range []string{"#cloud-config\nusers:", "#cloud-config\nusers: ops\n", "#cloud-config\nbootcmd: echo hi\n"} {
		if _, err := MergeUserData(doc, User{Name: "packer", Bootcmd: "true"}); err == nil || !strings.Contains(err.Error(), "must be a list") {
			t.Errorf("%q: error %v, want a list required", doc, err)
		}
	}
}
