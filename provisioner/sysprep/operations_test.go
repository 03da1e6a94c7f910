package sysprep

import (
	"strings"
	"testing"
)

func names(ops []operation) string {
	var n []string
	for _, op := range ops {
		n = append(n, op.Name)
	}
	return strings.Join(n, ",")
}

func TestResolveOperations(t *testing.T) {
	cases := []struct {
		spec []string
		want string
	}{
		{[]string{"defaults"}, "machine-id,ssh-hostkeys,ssh-userdir,cloud-init,logfiles,bash-history,passwd-backups,backup-files," +
			"package-manager-cache,tmp-files,cron-spool,mail-spool,dhcp-client-state,dhcp-server-state,net-persistent,net-hostname," +
			"net-nmconn,crash-data,abrt-data,random-seed,utmp,pacct-log,blkid-tab,lvm-system-devices,rpm-db,yum-uuid,smolt-uuid," +
			"pam-data,kerberos-hostkeytab,ipa-client,sssd-db-log,samba-db-log,dovecot-data,puppet-data-log,rh-subscription-manager," +
			"rhn-systemid,scrub-free-space,trim"},
		{[]string{"machine-id", "scrub-free-space", "trim", "user-account"}, "machine-id,scrub-free-space,trim,user-account"},
		{[]string{"defaults", "-scrub-free-space", "-trim"}, "machine-id,ssh-hostkeys,ssh-userdir,cloud-init,logfiles,bash-history,passwd-backups,backup-files," +
			"package-manager-cache,tmp-files,cron-spool,mail-spool,dhcp-client-state,dhcp-server-state,net-persistent,net-hostname," +
			"net-nmconn,crash-data,abrt-data,random-seed,utmp,pacct-log,blkid-tab,lvm-system-devices,rpm-db,yum-uuid,smolt-uuid," +
			"pam-data,kerberos-hostkeytab,ipa-client,sssd-db-log,samba-db-log,dovecot-data,puppet-data-log,rh-subscription-manager," +
			"rhn-systemid"},
		// The running order is fixed, whatever order the user lists.
		{[]string{"user-account", "trim", "machine-id"}, "machine-id,trim,user-account"},
		{[]string{"machine-id", "-machine-id"}, ""},
	}
	for _, tc := range cases {
		ops, err := resolveOperations(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(ops); got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.spec, got, tc.want)
		}
	}
}

func TestResolveOperations_unknownNamesListTheValidOnes(t *testing.T) {
	_, err := resolveOperations([]string{"defaults", "bash_history", "-nope"})
	if err == nil {
		t.Fatal("accepted unknown operations")
	}
	for _, want := range []string{`"bash_history"`, `"-nope"`, "bash-history", "user-account", "defaults"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}

func TestScript_callsOperationsInOrderWithQuotedUsers(t *testing.T) {
	ops, _ := resolveOperations([]string{"machine-id", "user-account", "ssh-userdir"})
	s := script(ops, []string{"packer", "o'neil"}, true)
	calls := s[strings.Index(s, "# Operations\n"):]
	want := "# Operations\nop_machine_id\nop_ssh_userdir\nop_user_account 'packer' 'o'\"'\"'neil'\n"
	if calls != want {
		t.Fatalf("calls:\n%s\nwant:\n%s", calls, want)
	}
	if !strings.Contains(s, "\nDRY_RUN=1\n") {
		t.Fatal("dry run not passed to the script")
	}
}

func TestEveryOperationHasAShellFunction(t *testing.T) {
	for _, op := range operations {
		fn := "op_" + strings.ReplaceAll(op.Name, "-", "_") + "() {"
		if !strings.Contains(library, fn) {
			t.Errorf("sysprep.sh has no %s", fn)
		}
	}
}
