package export

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// plannedOutput is one target resolved to its final path.
type plannedOutput struct {
	Target Target
	Path   string
}

// extension of an output file by format and outer compression.
func extension(t Target) string {
	ext := map[string]string{"qcow2": ".qcow2", "raw": ".raw", "vmdk": ".vmdk", "vhdx": ".vhdx", "vhd": ".vhd", "vdi": ".vdi", "gce": ".tar.gz", "ova": ".ova"}[t.Format]
	if !outerCompression(t) {
		return ext
	}
	return ext + map[string]string{"gzip": ".gz", "zstd": ".zst", "xz": ".xz"}[t.Compression]
}

// outerCompression tells whether the whole file is compressed after
// conversion; qcow2 compresses inside the image instead.
func outerCompression(t Target) bool {
	return t.Compression != "none" && t.Compression != "" && t.Format != "qcow2"
}

// plan renders the output names and refuses clashes.
func (p *PostProcessor) plan(input, outDir string, generated map[string]interface{}) ([]plannedOutput, error) {
	c := &p.config
	data := map[string]interface{}{}
	for k, v := range generated {
		data[k] = v
	}
	data["BuildName"] = c.PackerBuildName
	base := strings.TrimSuffix(filepath.Base(input), filepath.Ext(input))
	seen := map[string]int{}
	var plans []plannedOutput
	for i, t := range c.Targets {
		field := "output_name"
		if t.Name != "" {
			field = fmt.Sprintf("target[%d].name", i)
		}
		tmpl := cmp.Or(t.Name, c.OutputName)
		name := base
		if tmpl != "" {
			ctx := c.ctx
			ctx.Data = data
			rendered, err := interpolate.Render(tmpl, &ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			name = rendered
		}
		if err := checkRenderedName(field, name); err != nil {
			return nil, err
		}
		path := filepath.Join(outDir, name+extension(t))
		if err := insideDir(outDir, path); err != nil {
			return nil, err
		}
		if j, dup := seen[path]; dup {
			return nil, fmt.Errorf("target[%d] and target[%d] would both write %s: give one a name", j, i, path)
		}
		seen[path] = i
		if path == input {
			return nil, fmt.Errorf("target[%d] would overwrite the input image %s: give it a name or an output_directory", i, input)
		}
		if _, err := os.Stat(path); err == nil && !c.PackerForce {
			return nil, fmt.Errorf("output %s exists: remove it or run packer build -force", path)
		}
		plans = append(plans, plannedOutput{Target: t, Path: path})
	}
	return plans, nil
}
