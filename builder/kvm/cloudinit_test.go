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

func TestMergeUserData_passwordEnablesPasswordLogin(t *testing.T) {
	out, _ := mergeUserData("", seedUser{Name: "packer", Password: "s3cret"})
	m := decodeCloudConfig(t, out)
	if m["ssh_pwauth"] != true || m["users"].([]interface{})[0].(map[string]interface{})["plain_text_passwd"] != "s3cret" {
		t.Fatalf("password login not configured: %v", m)
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
