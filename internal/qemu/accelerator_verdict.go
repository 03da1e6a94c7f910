package qemu

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// AcceleratorVerdict is what a host showed about its hardware accelerator:
// either that it ran a guest to SSH (Accelerator is the native one) or
// that it could not (Accelerator is "tcg", with the Reason). The next
// build on the same host goes straight to the accelerator that works,
// instead of paying for the probe or, worse, a failed boot.
type AcceleratorVerdict struct {
	Accelerator string       `json:"accelerator"`
	Reason      string       `json:"reason,omitempty"`
	Decided     time.Time    `json:"decided"`
	Host        HostIdentity `json:"host"`
}

// HostIdentity is what a verdict holds for: the same kernel, QEMU and CPU
// behave the same, and an upgrade of any of them earns a fresh probe. The
// guest's machine and CPU model are part of it because a KVM can run one
// CPU model and abort on another (`host` and `qemu64` differ on some
// paravirtualized hosts).
type HostIdentity struct {
	OS       string `json:"os"`
	Kernel   string `json:"kernel"`
	QEMU     string `json:"qemu"`
	CPU      string `json:"cpu"`
	Machine  string `json:"machine"`
	CPUModel string `json:"cpu_model"`
}

// key names the identity's file.
func (h HostIdentity) key() string {
	b, _ := json.Marshal(h)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// CurrentHost reads the host's side of the identity.
func CurrentHost(qemuVersion, machine, cpuModel string) HostIdentity {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return HostIdentity{
		OS: runtime.GOOS, Kernel: strings.TrimSpace(string(kernel)), QEMU: qemuVersion,
		CPU: cpuModelName("/proc/cpuinfo"), Machine: machine, CPUModel: cpuModel,
	}
}

// cpuModelName is the host CPU's name in cpuinfo (x86's "model name";
// arm64 kernels give "CPU implementer"/"CPU part" instead).
func cpuModelName(cpuinfo string) string {
	f, err := os.Open(cpuinfo)
	if err != nil {
		return ""
	}
	defer f.Close()
	var parts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		name = strings.TrimSpace(name)
		if !ok || name != "model name" && name != "CPU implementer" && name != "CPU part" {
			continue
		}
		parts = append(parts, strings.TrimSpace(value))
		if name == "model name" || len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, " ")
}

// VerdictStore keeps verdicts as small JSON files in one directory of
// Packer's cache (`kvm-accelerator/`). Deleting a file, or the directory,
// makes the next build probe again.
type VerdictStore struct{ Dir string }

// Path is the file that holds h's verdict.
func (s VerdictStore) Path(h HostIdentity) string {
	return filepath.Join(s.Dir, h.key()+".json")
}

// Load returns the verdict remembered for h, if any. A damaged file is no
// verdict: the build probes and writes a new one.
func (s VerdictStore) Load(h HostIdentity) (*AcceleratorVerdict, bool) {
	b, err := os.ReadFile(s.Path(h))
	if err != nil {
		return nil, false
	}
	var v AcceleratorVerdict
	if json.Unmarshal(b, &v) != nil || v.Host != h || v.Accelerator == "" {
		return nil, false
	}
	return &v, true
}

// Save remembers v for its host, through a temporary file renamed into
// place so that two builds deciding at once never leave half a file.
func (s VerdictStore) Save(v AcceleratorVerdict) (string, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(s.Dir, ".verdict-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	path := s.Path(v.Host)
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("remembering the accelerator verdict: %w", err)
	}
	return path, nil
}
