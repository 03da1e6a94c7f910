package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// Everything that can be known before the build fails `packer validate`.
func TestConfigure_refusesBeforeTheBuild(t *testing.T) {
	dir := t.TempDir()
	aFile := filepath.Join(dir, "exports")
	os.WriteFile(aFile, []byte("x"), 0o644)
	raw := map[string]interface{}{"format": "raw"}
	cases := map[string]struct {
		cfg  map[string]interface{}
		want []string
	}{
		"two targets write one name": {
			map[string]interface{}{"target": []map[string]interface{}{raw, {"format": "vmdk"}, raw}},
			[]string{"target[0] and target[2] would both write <input image name>.raw"},
		},
		"a name equal to output_name": {
			map[string]interface{}{"output_name": "web", "target": []map[string]interface{}{raw, {"format": "raw", "name": "web"}}},
			[]string{"would both write web.raw"},
		},
		"qcow2 compressed or not is one .qcow2": {
			map[string]interface{}{"target": []map[string]interface{}{{"format": "qcow2"}, {"format": "qcow2", "compression": "zstd"}}},
			[]string{"would both write <input image name>.qcow2"},
		},
		"output_directory is a file": {
			map[string]interface{}{"output_directory": aFile, "target": []map[string]interface{}{raw}},
			[]string{"output_directory " + aFile + " is a file"},
		},
		"output_directory under a file": {
			map[string]interface{}{"output_directory": filepath.Join(aFile, "sub"), "target": []map[string]interface{}{raw}},
			[]string{"cannot be created: " + aFile + " is a file"},
		},
		"bad output_name template": {
			map[string]interface{}{"output_name": "{{ .BuildName", "target": []map[string]interface{}{raw}},
			[]string{"output_name", "unclosed action"},
		},
		"unknown template function": {
			map[string]interface{}{"target": []map[string]interface{}{{"format": "raw", "name": "{{ nosuchfunc }}"}}},
			[]string{"target", `function "nosuchfunc" not defined`},
		},
		"output_name with a newline": {
			map[string]interface{}{"output_name": "web\nserver", "target": []map[string]interface{}{raw}},
			[]string{"output_name", "holds a control character"},
		},
		"target name with a newline": {
			map[string]interface{}{"target": []map[string]interface{}{{"format": "raw", "name": "{{ .BuildName }}\n"}}},
			[]string{"target[0].name", "holds a control character"},
		},
		"output_name with the kvm work prefix": {
			map[string]interface{}{"output_name": ".packer-kvm-{{ .BuildName }}", "target": []map[string]interface{}{raw}},
			[]string{"output_name", "prefix of the kvm builder's work files"},
		},
		"target name with the kvm work prefix": {
			map[string]interface{}{"target": []map[string]interface{}{{"format": "raw", "name": ".packer-kvm-web"}}},
			[]string{"target[0].name", "prefix of the kvm builder's work files"},
		},
		"unknown format and compression together": {
			map[string]interface{}{"target": []map[string]interface{}{{"format": "iso", "compression": "lz4"}}},
			[]string{`target[0].format "iso"`, `target[0].compression "lz4"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := (&PostProcessor{}).Configure(tc.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// output_name = "../../x" and its kin would write outside output_directory.
func TestConfigure_confinesOutputsToTheDirectory(t *testing.T) {
	for _, cfg := range []map[string]interface{}{
		{"output_name": "../../x"},
		{"output_name": "/tmp/x"},
		{"output_name": ".."},
		{"output_name": `..\x`},
		{"output_name": "{{ .BuildName }}/../x"},
		{"target": []map[string]interface{}{{"format": "raw", "name": "sub/x"}}},
		{"target": []map[string]interface{}{{"format": "raw", "name": ".."}}},
	} {
		if cfg["target"] == nil {
			cfg["target"] = []map[string]interface{}{{"format": "raw"}}
		}
		err := (&PostProcessor{}).Configure(cfg)
		if err == nil || !strings.Contains(err.Error(), "not a path") {
			t.Errorf("%v: error %v, want a not-a-path error", cfg, err)
		}
	}
}

// Generated data can still smuggle a path in; the plan refuses it.
func TestPlan_confinesRenderedNames(t *testing.T) {
	out := t.TempDir()
	for tmpl, want := range map[string]string{
		"{{ .ImagePath }}": "a path rather than a file name",
		"{{ .Missing }}":   "does not have",
		"{{ .Empty }}":     "empty file name",
		"{{ .Newline }}":   "holds a control character",
		"{{ .Work }}":      "prefix of the kvm builder's work files",
	} {
		p := configure(t, map[string]interface{}{"output_name": tmpl, "target": []map[string]interface{}{{"format": "raw"}}})
		_, err := p.plan("/in/web.qcow2", out, map[string]interface{}{"ImagePath": "../../etc/web", "Empty": "", "Newline": "web\nserver", "Work": ".packer-kvm-web"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", tmpl, err, want)
		}
	}
	if err := insideDir(out, filepath.Join(out, "..", "x.raw")); err == nil {
		t.Error("insideDir accepted a path outside the directory")
	}
	if err := insideDir(out, filepath.Join(out, "x.raw")); err != nil {
		t.Error(err)
	}
}

// During `packer validate` data-source values are a placeholder: accepted.
func TestConfigure_acceptsUnknownDataSourceValues(t *testing.T) {
	err := (&PostProcessor{}).Configure(map[string]interface{}{
		"output_directory": validate.Unknown,
		"output_name":      validate.Unknown,
		"target":           []map[string]interface{}{{"format": "raw", "name": validate.Unknown}, {"format": "vmdk"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Two targets whose templates differ are allowed; good names pass.
func TestConfigure_acceptsDistinctNames(t *testing.T) {
	configure(t, map[string]interface{}{
		"output_directory": filepath.Join(t.TempDir(), "new", "exports"),
		"output_name":      "{{ .BuildName }}-{{ .ImageFormat }}",
		"target":           []map[string]interface{}{{"format": "raw"}, {"format": "raw", "compression": "zstd"}, {"format": "raw", "name": "..golden"}},
	})
}
