package sysprep

import (
	"bytes"
	"context"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func testUi() (*packersdk.BasicUi, *bytes.Buffer) {
	out := new(bytes.Buffer)
	return &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: out, ErrorWriter: out}, out
}

func prepared(t *testing.T, cfg map[string]interface{}) *Provisioner {
	t.Helper()
	p := &Provisioner{}
	if err := p.Prepare(cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrepare_rejectsBadInput(t *testing.T) {
	cases := map[string]struct {
		cfg  map[string]interface{}
		want string
	}{
		"unknown operation":  {map[string]interface{}{"operations": []string{"defaults", "wipe-disk"}}, `unknown operation "wipe-disk"`},
		"nothing left":       {map[string]interface{}{"operations": []string{"trim", "-trim"}}, "nothing to run"},
		"bad user":           {map[string]interface{}{"remove_users": []string{"bad user"}}, "not a valid user name"},
		"root":               {map[string]interface{}{"remove_users": []string{"root"}}, "root cannot be removed"},
		"no path in command": {map[string]interface{}{"execute_command": "sudo sh"}, "{{ .Path }}"},
		"unknown argument":   {map[string]interface{}{"operation": []string{"trim"}}, "operation"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := (&Provisioner{}).Prepare(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not mention %q", err, tc.want)
			}
		})
	}
}

func TestProvision_uploadsAndRunsTheScriptAsRoot(t *testing.T) {
	p := prepared(t, map[string]interface{}{"operations": []string{"machine-id", "user-account"}})
	comm := &packersdk.MockCommunicator{StartStdout: "kvm-sysprep: machine-id: empty /etc/machine-id (1 changed)\nkvm-sysprep: user-account: remove users: packer\n"}
	ui, out := testUi()
	if err := p.Provision(context.Background(), ui, comm, map[string]interface{}{"User": "packer"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(comm.UploadPath, "/tmp/kvm-sysprep-") || !strings.Contains(comm.UploadData, "\nop_user_account 'packer'\n") {
		t.Fatalf("uploaded %s:\n%s", comm.UploadPath, comm.UploadData)
	}
	if comm.StartCmd.Command != "sudo -n sh '"+comm.UploadPath+"'" {
		t.Fatalf("ran %q", comm.StartCmd.Command)
	}
	if !strings.Contains(out.String(), "machine-id: empty /etc/machine-id") {
		t.Fatalf("reports not shown:\n%s", out)
	}
}

func TestProvision_explainsMissingSudo(t *testing.T) {
	p := prepared(t, nil)
	comm := &packersdk.MockCommunicator{StartStderr: "sudo: a password is required\n", StartExitStatus: 1}
	ui, _ := testUi()
	err := p.Provision(context.Background(), ui, comm, map[string]interface{}{"User": "packer"})
	if err == nil || !strings.Contains(err.Error(), "passwordless sudo") || !strings.Contains(err.Error(), "execute_command") {
		t.Fatalf("error %v does not explain the fix", err)
	}
}

func TestProvision_failsWhenOperationsDoNotReport(t *testing.T) {
	p := prepared(t, map[string]interface{}{"operations": []string{"machine-id", "trim"}})
	comm := &packersdk.MockCommunicator{StartStdout: "kvm-sysprep: machine-id: done\n", StartStderr: "trim: fstrim crashed"}
	ui, _ := testUi()
	err := p.Provision(context.Background(), ui, comm, map[string]interface{}{"User": "packer"})
	if err == nil || !strings.Contains(err.Error(), "1 of 2") {
		t.Fatalf("error %v", err)
	}
}

func TestProvision_needsAUserForUserOperations(t *testing.T) {
	p := prepared(t, map[string]interface{}{"operations": []string{"user-account"}})
	ui, _ := testUi()
	err := p.Provision(context.Background(), ui, &packersdk.MockCommunicator{}, map[string]interface{}{"User": "root"})
	if err == nil || !strings.Contains(err.Error(), "remove_users") {
		t.Fatalf("error %v", err)
	}
}

func TestProvision_defaultsNeedNoUserWhenConnectedAsRoot(t *testing.T) {
	p := prepared(t, nil)
	var report strings.Builder
	for range p.config.ops {
		report.WriteString("kvm-sysprep: op: done\n")
	}
	comm := &packersdk.MockCommunicator{StartStdout: report.String()}
	ui, _ := testUi()
	if err := p.Provision(context.Background(), ui, comm, map[string]interface{}{"User": "root"}); err != nil {
		t.Fatalf("defaults as root: %v", err)
	}
}
