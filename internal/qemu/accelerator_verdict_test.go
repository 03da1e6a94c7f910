package qemu

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testHost(cpuModel string) HostIdentity {
	return HostIdentity{OS: "linux", Kernel: "6.1.0-13-amd64", QEMU: "QEMU emulator version 7.2.0", CPU: "AMD EPYC", Machine: "q35", CPUModel: cpuModel}
}

func TestVerdictStore_remembersPerHostAndCPUModel(t *testing.T) {
	store := &VerdictStore{Dir: filepath.Join(t.TempDir(), "kvm-accelerator")}
	host := testHost("host")
	if _, ok := store.Load(host); ok {
		t.Fatal("an empty store remembered a verdict")
	}
	path, err := store.Save(AcceleratorVerdict{Accelerator: "tcg", Reason: "failed to set MSR 0x10a", Decided: time.Now().UTC(), Host: host})
	if err != nil {
		t.Fatal(err)
	}
	v, ok := store.Load(host)
	if !ok || v.Accelerator != "tcg" || v.Reason != "failed to set MSR 0x10a" {
		t.Fatalf("loaded %+v, %v", v, ok)
	}
	if _, ok := store.Load(testHost("qemu64")); ok {
		t.Fatal("a verdict for cpu_model host answered for qemu64")
	}
	other := host
	other.QEMU = "QEMU emulator version 8.2.0"
	if _, ok := store.Load(other); ok {
		t.Fatal("a verdict survived a QEMU upgrade")
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("verdict file %v mode %v, want 0600", err, info.Mode())
	}
	if entries, _ := os.ReadDir(store.Dir); len(entries) != 1 {
		t.Fatalf("store holds %d files, want the verdict only (no temporary file)", len(entries))
	}
}

func TestVerdictStore_aDamagedFileIsNoVerdict(t *testing.T) {
	store := &VerdictStore{Dir: t.TempDir()}
	host := testHost("host")
	for _, content := range []string{"", "{", `{"accelerator":"kvm"}`, `{"host":` + `{"os":"linux"}}`} {
		if err := os.WriteFile(store.Path(host), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if v, ok := store.Load(host); ok {
			t.Errorf("content %q gave a verdict %+v", content, v)
		}
	}
}

func TestCPUModelName(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n": "AMD EPYC 7B13",
		"processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd0c\n":                  "0x41 0xd0c",
		"": "",
	}
	for content, want := range cases {
		path := filepath.Join(dir, "cpuinfo")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := cpuModelName(path); got != want {
			t.Errorf("cpuinfo %q: %q, want %q", content, got, want)
		}
	}
}
