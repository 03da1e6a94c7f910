package firmware

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// debianPlain is the shape of Debian 12's 60-edk2-x86_64.json.
const debianPlain = `{
    "description": "UEFI firmware for x86_64",
    "interface-types": ["uefi"],
    "mapping": {
        "device": "flash",
        "executable": {"filename": "/usr/share/OVMF/OVMF_CODE_4M.fd", "format": "raw"},
        "nvram-template": {"filename": "/usr/share/OVMF/OVMF_VARS_4M.fd", "format": "raw"}
    },
    "targets": [{"architecture": "x86_64", "machines": ["pc-i440fx-*", "pc-q35-*"]}],
    "features": ["acpi-s3", "amd-sev", "verbose-dynamic"],
    "tags": []
}`

func TestParseDescriptor(t *testing.T) {
	d, err := ParseDescriptor([]byte(debianPlain))
	if err != nil {
		t.Fatal(err)
	}
	if d.Mapping.FlashMode() != ModeSplit {
		t.Errorf("mode without \"mode\" = %q, want split (the spec's historical default)", d.Mapping.FlashMode())
	}
	if d.Mapping.Executable.Filename != "/usr/share/OVMF/OVMF_CODE_4M.fd" || d.Mapping.NVRAMTemplate.Format != "raw" {
		t.Errorf("mapping = %+v", d.Mapping)
	}
	if !d.HasInterface("uefi") || !d.HasFeature("amd-sev") || d.HasFeature("secure-boot") {
		t.Errorf("interfaces/features = %v %v", d.InterfaceTypes, d.Features)
	}
	if len(d.Targets) != 1 || d.Targets[0].Architecture != "x86_64" || len(d.Targets[0].Machines) != 2 {
		t.Errorf("targets = %+v", d.Targets)
	}
}

func TestParseDescriptorAcceptsWhatItDoesNotKnow(t *testing.T) {
	// New features, interfaces and devices are how the spec grows.
	for name, doc := range map[string]string{
		"unknown feature":   strings.Replace(debianPlain, `"acpi-s3"`, `"some-future-feature"`, 1),
		"unknown interface": strings.Replace(debianPlain, `["uefi"]`, `["uefi", "future"]`, 1),
		"unknown device":    `{"interface-types": ["uefi"], "mapping": {"device": "igvm", "filename": "/x.igvm"}, "targets": []}`,
		"stateless flash":   `{"interface-types": ["uefi"], "mapping": {"device": "flash", "mode": "stateless", "executable": {"filename": "/x.fd", "format": "raw"}}, "targets": [{"architecture": "x86_64", "machines": ["pc-q35-*"]}]}`,
		"memory":            `{"interface-types": ["uefi"], "mapping": {"device": "memory", "filename": "/MICROVM.fd"}, "targets": [{"architecture": "x86_64", "machines": ["microvm"]}]}`,
	} {
		if _, err := ParseDescriptor([]byte(doc)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseDescriptorRejects(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"not json":           {`{"interface-types": [`, "not a firmware descriptor"},
		"trailing data":      {debianPlain + `{}`, "data after the JSON object"},
		"wrong type":         {`{"interface-types": "uefi"}`, "not a firmware descriptor"},
		"no interfaces":      {`{"mapping": {"device": "flash"}, "targets": []}`, "interface-types"},
		"no device":          {`{"interface-types": ["uefi"], "mapping": {}, "targets": []}`, `"device"`},
		"no executable":      {`{"interface-types": ["uefi"], "mapping": {"device": "flash"}, "targets": []}`, `"executable"`},
		"no nvram in split":  {`{"interface-types": ["uefi"], "mapping": {"device": "flash", "executable": {"filename": "/c", "format": "raw"}}, "targets": []}`, `"nvram-template"`},
		"no format":          {`{"interface-types": ["uefi"], "mapping": {"device": "flash", "mode": "combined", "executable": {"filename": "/c"}}, "targets": []}`, `"format"`},
		"no filename":        {`{"interface-types": ["uefi"], "mapping": {"device": "flash", "mode": "combined", "executable": {"format": "raw"}}, "targets": []}`, `"filename"`},
		"unknown mode":       {`{"interface-types": ["uefi"], "mapping": {"device": "flash", "mode": "odd", "executable": {"filename": "/c", "format": "raw"}}, "targets": []}`, `unknown flash mode "odd"`},
		"memory no filename": {`{"interface-types": ["uefi"], "mapping": {"device": "memory"}, "targets": []}`, `"filename"`},
		"no targets":         {`{"interface-types": ["uefi"], "mapping": {"device": "memory", "filename": "/m"}}`, `"targets"`},
		"target no arch":     {`{"interface-types": ["uefi"], "mapping": {"device": "memory", "filename": "/m"}, "targets": [{"machines": ["x"]}]}`, `"architecture"`},
		"too large":          {`{"description": "` + strings.Repeat("x", maxDescriptorSize) + `"}`, "more than"},
	} {
		_, err := ParseDescriptor([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
}

// FuzzParseDescriptor feeds the parser what a descriptor directory may hold:
// it must not panic, and what it accepts must survive a round trip.
func FuzzParseDescriptor(f *testing.F) {
	f.Add([]byte(debianPlain))
	f.Add([]byte(`{"interface-types": ["uefi"], "mapping": {"device": "flash", "mode": "stateless", "executable": {"filename": "/x", "format": "raw"}}, "targets": []}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "usr", "share", "qemu", "firmware", "*.json"))
	for _, path := range seeds {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDescriptor(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshalling an accepted descriptor: %v", err)
		}
		if _, err := ParseDescriptor(again); err != nil {
			t.Fatalf("an accepted descriptor does not parse again: %v\n%s", err, again)
		}
		// Selection reads an accepted descriptor without nil checks.
		if d.Mapping.Device == "flash" {
			_ = d.Mapping.Executable.Filename
			if d.Mapping.FlashMode() == ModeSplit {
				_ = d.Mapping.NVRAMTemplate.Filename
			}
		}
	})
}
