package export

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vim25/types"
)

// kvmArtifact is an image with the kvm builder's generated data as it
// arrives over Packer's RPC: msgpack keys and small integer types.
type kvmArtifact struct {
	files     []string
	generated map[interface{}]interface{}
}

func (a kvmArtifact) BuilderId() string { return "kvmforge.kvm" }
func (a kvmArtifact) Files() []string   { return a.files }
func (a kvmArtifact) Id() string        { return "id" }
func (a kvmArtifact) String() string    { return "kvm image" }
func (a kvmArtifact) Destroy() error    { return nil }
func (a kvmArtifact) State(name string) interface{} {
	if name == "generated_data" {
		return a.generated
	}
	return nil
}

func TestConfigure_ovaDefaultsAndRefusals(t *testing.T) {
	p := configure(t, map[string]interface{}{"target": []map[string]interface{}{{"format": "ova"}}})
	got := p.config.Targets[0].OVAOptions
	want := OVAOptions{HardwareVersion: 14, DiskController: "pvscsi", NetworkAdapter: "vmxnet3", NetworkName: "VM Network", GuestOSType: "otherLinux64Guest"}
	if got != want {
		t.Fatalf("defaults %+v\nwant %+v", got, want)
	}
	cases := map[string]struct {
		target map[string]interface{}
		want   string
	}{
		"option on vmdk":      {map[string]interface{}{"format": "vmdk", "cpus": 4}, `only apply to format "ova"`},
		"compressed ova":      {map[string]interface{}{"format": "ova", "compression": "zstd"}, "compressed already"},
		"old hardware":        {map[string]interface{}{"format": "ova", "hardware_version": 4}, "target[0].hardware_version 4"},
		"odd memory":          {map[string]interface{}{"format": "ova", "memory": 1001}, "multiple of 4"},
		"negative cpus":       {map[string]interface{}{"format": "ova", "cpus": -1}, "target[0].cpus"},
		"bad firmware":        {map[string]interface{}{"format": "ova", "firmware": "uefi"}, `firmware "uefi"`},
		"bad controller":      {map[string]interface{}{"format": "ova", "disk_controller": "nvme"}, `disk_controller "nvme"`},
		"sata on old version": {map[string]interface{}{"format": "ova", "disk_controller": "sata", "hardware_version": 9}, "hardware_version 10"},
		"bad adapter":         {map[string]interface{}{"format": "ova", "network_adapter": "virtio"}, `network_adapter "virtio"`},
		"bad guest id":        {map[string]interface{}{"format": "ova", "guest_os_type": "debian 12"}, "guest_os_type"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := (&PostProcessor{}).Configure(map[string]interface{}{"target": []map[string]interface{}{tc.target}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not mention %q", err, tc.want)
			}
		})
	}
}

func TestResolveOVAHardware_fromTheBuildThenDefaults(t *testing.T) {
	plan := func(o OVAOptions) []plannedOutput {
		return []plannedOutput{{Target: Target{Format: "ova", OVAOptions: o}}, {Target: Target{Format: "vmdk"}}}
	}
	// As msgpack hands them over: small ints shrink to int8, others are
	// unsigned or int64.
	fromKVM := stringKeys(map[interface{}]interface{}{"CPUs": int8(4), "MemoryMiB": uint64(1023), "Firmware": "uefi"})
	plans := plan(OVAOptions{})
	resolveOVAHardware(plans, fromKVM)
	if o := plans[0].Target.OVAOptions; o.CPUs != 4 || o.MemoryMiB != 1024 || o.Firmware != "efi" {
		t.Errorf("from the kvm build: %+v, want 4 CPUs, 1024 MiB (rounded up to 4), efi", o)
	}
	if plans[1].Target.OVAOptions != (OVAOptions{}) {
		t.Errorf("a vmdk target got OVA hardware: %+v", plans[1].Target.OVAOptions)
	}
	plans = plan(OVAOptions{CPUs: 1, MemoryMiB: 512, Firmware: "bios"})
	resolveOVAHardware(plans, fromKVM)
	if o := plans[0].Target.OVAOptions; o.CPUs != 1 || o.MemoryMiB != 512 || o.Firmware != "bios" {
		t.Errorf("the target's own settings were overridden: %+v", o)
	}
	plans = plan(OVAOptions{})
	resolveOVAHardware(plans, map[string]interface{}{"ImageFormat": "qcow2"})
	if o := plans[0].Target.OVAOptions; o.CPUs != 2 || o.MemoryMiB != 2048 || o.Firmware != "bios" {
		t.Errorf("without kvm data: %+v, want 2 CPUs, 2048 MiB, bios", o)
	}
	plans = plan(OVAOptions{})
	resolveOVAHardware(plans, map[string]interface{}{"CPUs": "", "MemoryMiB": "", "Firmware": ""})
	if o := plans[0].Target.OVAOptions; o.CPUs != 2 || o.MemoryMiB != 2048 || o.Firmware != "bios" {
		t.Errorf("with the builder's empty placeholders: %+v, want the defaults", o)
	}
}

func TestOVAMemberNames_portableAndShort(t *testing.T) {
	cases := map[string][3]string{
		"/x/golden.ova":                           {"golden.ovf", "golden.mf", "golden-disk1.vmdk"},
		"/x/web server (v2).ova":                  {"web_server__v2_.ovf", "web_server__v2_.mf", "web_server__v2_-disk1.vmdk"},
		"/x/" + strings.Repeat("a", 120) + ".ova": {strings.Repeat("a", 88) + ".ovf", "", ""},
		"/x/éé.ova":                               {"vm.ovf", "vm.mf", "vm-disk1.vmdk"},
	}
	for in, want := range cases {
		o, m, v := ovaMemberNames(in)
		if o != want[0] || (want[1] != "" && (m != want[1] || v != want[2])) {
			t.Errorf("%s: %s %s %s", in, o, m, v)
		}
		if len(v) > 100 {
			t.Errorf("%s: %q does not fit a ustar name", in, v)
		}
	}
}

func TestOVATarHeader_ustarUntilItCannotSizeTheMember(t *testing.T) {
	for _, size := range []int64{ustarMaxSize, ustarMaxSize + 1} {
		hdr := ovaHeader("disk.vmdk", size, time.Unix(0, 0))
		if err := tar.NewWriter(io.Discard).WriteHeader(hdr); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		want := tar.FormatUSTAR
		if size > ustarMaxSize {
			want = tar.FormatGNU
		}
		if hdr.Format != want {
			t.Errorf("size %d: format %v, want %v", size, hdr.Format, want)
		}
	}
}

// readOVA lists the members of an OVA and extracts them into a directory.
func readOVA(t *testing.T, path string) (names []string, formats []tar.Format, dir string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir = t.TempDir()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg || strings.Contains(hdr.Name, "/") {
			t.Errorf("member %q (type %c) is not a plain file at the top", hdr.Name, hdr.Typeflag)
		}
		names = append(names, hdr.Name)
		formats = append(formats, hdr.Format)
		writeAll(t, filepath.Join(dir, hdr.Name), tr)
	}
}

// configSpec is what vSphere would create from the descriptor, by
// govmomi's OVF reader (VMware's own Go library), strictly.
func configSpec(t *testing.T, descriptor []byte) (types.VirtualMachineConfigSpec, *ovf.Envelope) {
	t.Helper()
	env, err := ovf.Unmarshal(bytes.NewReader(descriptor))
	if err != nil {
		t.Fatalf("govmomi cannot read the OVF: %v", err)
	}
	spec, err := env.ToConfigSpecWithOptions(ovf.ToConfigSpecOptions{Strict: true})
	if err != nil {
		t.Fatalf("govmomi cannot turn the OVF into a VM: %v", err)
	}
	return spec, env
}

func devices(spec types.VirtualMachineConfigSpec) []types.BaseVirtualDevice {
	var out []types.BaseVirtualDevice
	for _, c := range spec.DeviceChange {
		out = append(out, c.GetVirtualDeviceConfigSpec().Device)
	}
	return out
}

func TestPostProcess_ovaIsAnImportablePackage(t *testing.T) {
	img := testImage(t)
	out := filepath.Join(t.TempDir(), "exports")
	p := configure(t, map[string]interface{}{
		"output_directory": out,
		"target":           []map[string]interface{}{{"format": "ova", "name": "golden vm"}},
	})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	build := kvmArtifact{
		files:     []string{img},
		generated: map[interface{}]interface{}{"CPUs": int8(3), "MemoryMiB": uint16(1536), "Firmware": "uefi"},
	}
	artifact, _, _, err := p.PostProcess(context.Background(), ui, build)
	if err != nil {
		t.Fatal(err)
	}
	ovaPath := filepath.Join(out, "golden vm.ova")
	if files := artifact.Files(); len(files) != 2 || files[0] != ovaPath {
		t.Fatalf("files %v", files)
	}

	// DSP0243: descriptor first, then the manifest, then the disk; ustar.
	names, formats, dir := readOVA(t, ovaPath)
	if strings.Join(names, ",") != "golden_vm.ovf,golden_vm.mf,golden_vm-disk1.vmdk" {
		t.Fatalf("members %v", names)
	}
	for i, f := range formats {
		if f != tar.FormatUSTAR {
			t.Errorf("%s is %v, want ustar", names[i], f)
		}
	}

	// The manifest verifies with GNU sha256sum and parses with govmomi.
	check := exec.Command("sha256sum", "--strict", "-c", "golden_vm.mf")
	check.Dir = dir
	if o, err := check.CombinedOutput(); err != nil || strings.Count(string(o), ": OK") != 2 {
		t.Fatalf("sha256sum -c golden_vm.mf: %v\n%s", err, o)
	}
	mf, _ := os.Open(filepath.Join(dir, "golden_vm.mf"))
	sums, err := library.ReadManifest(mf)
	mf.Close()
	if err != nil || len(sums) != 2 {
		t.Fatalf("govmomi reads the manifest as %v, %v", sums, err)
	}
	for _, name := range []string{"golden_vm.ovf", "golden_vm-disk1.vmdk"} {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		sum := sha256.Sum256(data)
		if s := sums[name]; s == nil || s.Algorithm != "SHA256" || s.Checksum != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest entry for %s: %+v", name, s)
		}
	}

	// The disk is a streamOptimized VMDK that converts back to the input,
	// grown to a whole MiB (the input is 20 MiB + 512 bytes).
	vmdk := filepath.Join(dir, "golden_vm-disk1.vmdk")
	info := qemuInfo(t, vmdk, "vmdk")
	if ct := info["format-specific"].(map[string]interface{})["data"].(map[string]interface{})["create-type"]; ct != "streamOptimized" {
		t.Errorf("the disk is %v, want streamOptimized", ct)
	}
	if size := int64(info["virtual-size"].(float64)); size != 21<<20 {
		t.Errorf("the disk has %d bytes, want the input's 20 MiB + 512 rounded up to 21 MiB", size)
	}
	assertConvertsBack(t, img, vmdk)

	// The descriptor says what vSphere would build: the build's hardware.
	descriptor, _ := os.ReadFile(filepath.Join(dir, "golden_vm.ovf"))
	spec, env := configSpec(t, descriptor)
	if spec.NumCPUs != 3 || spec.MemoryMB != 1536 || spec.Firmware != "efi" || spec.Version != "vmx-14" || spec.GuestId != "otherLinux64Guest" || spec.Name != "golden vm" {
		t.Errorf("VM from the OVF: cpus %d, memory %d, firmware %q, version %q, guest %q, name %q",
			spec.NumCPUs, spec.MemoryMB, spec.Firmware, spec.Version, spec.GuestId, spec.Name)
	}
	var controller, disk, nic int
	for _, d := range devices(spec) {
		switch d := d.(type) {
		case *types.ParaVirtualSCSIController:
			controller++
		case *types.VirtualDisk:
			disk++
			if d.CapacityInBytes != int64(info["virtual-size"].(float64)) || d.CapacityInBytes < 20<<20+512 {
				t.Errorf("disk capacity %d, the image has %v", d.CapacityInBytes, info["virtual-size"])
			}
		case *types.VirtualVmxnet3:
			nic++
		default:
			t.Errorf("unexpected device %T", d)
		}
	}
	if controller != 1 || disk != 1 || nic != 1 {
		t.Errorf("devices: %d pvscsi, %d disks, %d vmxnet3; want one each", controller, disk, nic)
	}
	st, _ := os.Stat(vmdk)
	if len(env.References) != 1 || env.References[0].Href != "golden_vm-disk1.vmdk" || int64(env.References[0].Size) != st.Size() {
		t.Errorf("References %+v do not name the disk member and its size %d", env.References, st.Size())
	}
	d := env.Disk.Disks[0]
	if *d.FileRef != env.References[0].ID || *d.Format != streamOptimizedFormat || d.PopulatedSize == nil || *d.PopulatedSize < 80000*13 || int64(*d.PopulatedSize) > 20<<20 {
		t.Errorf("Disk %+v: wrong file, format or populated size", d)
	}
	if env.Network == nil || len(env.Network.Networks) != 1 || env.Network.Networks[0].Name != "VM Network" {
		t.Errorf("NetworkSection %+v", env.Network)
	}
	if os := env.VirtualSystem.OperatingSystem; os == nil || os.ID != 101 {
		t.Errorf("OperatingSystemSection %+v lacks the CIM id VirtualBox requires", os)
	}
	assertRASDOrder(t, descriptor)
}

// assertConvertsBack converts both disks to raw: the VMDK must hold the
// input byte for byte, then zeros up to its whole-MiB size.
func assertConvertsBack(t *testing.T, input, vmdk string) {
	t.Helper()
	scratch := t.TempDir()
	in, back := filepath.Join(scratch, "input.raw"), filepath.Join(scratch, "back.raw")
	for src, dst := range map[string]string{input: in, vmdk: back} {
		if o, err := exec.Command("qemu-img", "convert", "-O", "raw", src, dst).CombinedOutput(); err != nil {
			t.Fatalf("converting %s to raw: %v %s", src, err, o)
		}
	}
	inSt, _ := os.Stat(in)
	if o, err := exec.Command("cmp", "-n", fmt.Sprint(inSt.Size()), in, back).CombinedOutput(); err != nil {
		t.Errorf("the disk converted back is not byte-identical to the input: %v %s", err, o)
	}
	backData, _ := os.ReadFile(back)
	if want := (inSt.Size() + 1<<20 - 1) &^ (1<<20 - 1); int64(len(backData)) != want {
		t.Fatalf("the disk converted back has %d bytes, want %d", len(backData), want)
	}
	if tail := backData[inSt.Size():]; !bytes.Equal(tail, make([]byte, len(tail))) {
		t.Error("the bytes past the input are not zero")
	}
}

// assertRASDOrder checks what the CIM schemas' xs:sequence demands and
// encoding/xml does not: the rasd: and vssd: children in alphabetical
// order, each item with an InstanceID and ElementName, and a
// ResourceType of the CIM values the package uses.
func assertRASDOrder(t *testing.T, descriptor []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(descriptor))
	const rasd = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
	var inItem bool
	var children []string
	types := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the OVF is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if el.Name.Local == "Item" {
				inItem, children = true, nil
			} else if inItem && el.Name.Space == rasd {
				children = append(children, el.Name.Local)
				if el.Name.Local == "ResourceType" {
					var v string
					dec.DecodeElement(&v, &el)
					types[v] = true
				}
			}
		case xml.EndElement:
			if el.Name.Local == "Item" {
				inItem = false
				for i := 1; i < len(children); i++ {
					if children[i-1] > children[i] {
						t.Errorf("rasd:%s before rasd:%s breaks the CIM schema order", children[i-1], children[i])
					}
				}
				joined := "," + strings.Join(children, ",") + ","
				if !strings.Contains(joined, ",InstanceID,") || !strings.Contains(joined, ",ElementName,") {
					t.Errorf("item %v lacks InstanceID or ElementName", children)
				}
			}
		}
	}
	for _, rt := range []string{"3", "4", "10", "17"} {
		if !types[rt] {
			t.Errorf("no item of ResourceType %s", rt)
		}
	}
	if !types["6"] && !types["20"] {
		t.Error("no disk controller item (ResourceType 6 or 20)")
	}
}

// TestOVF_validatesAgainstTheDMTFSchema runs xmllint with the DMTF OVF
// envelope schema (DSP8023) and the CIM schemas it imports, found in
// OVF_SCHEMA_DIR: DSP8023.xsd, CIM_ResourceAllocationSettingData.xsd,
// CIM_VirtualSystemSettingData.xsd, common.xsd and xml.xsd. No package
// registry ships them, so the test skips without them.
func TestOVF_validatesAgainstTheDMTFSchema(t *testing.T) {
	dir := os.Getenv("OVF_SCHEMA_DIR")
	if dir == "" {
		t.Skip("OVF_SCHEMA_DIR is not set: no DMTF OVF schema to validate against")
	}
	for _, controller := range []string{"pvscsi", "lsilogic", "sata"} {
		for _, firmware := range []string{"bios", "efi"} {
			d := ovfDescriptor{Name: `vm & "co"`, DiskFile: "vm-disk1.vmdk", DiskFileSize: 1, Capacity: 1 << 30, PopulatedSize: 1 << 20}
			d.withHardware(OVAOptions{HardwareVersion: 14, CPUs: 2, MemoryMiB: 1024, Firmware: firmware, DiskController: controller, NetworkAdapter: "vmxnet3", NetworkName: "VM Network", GuestOSType: "otherLinux64Guest"})
			descriptor, err := d.render()
			if err != nil {
				t.Fatal(err)
			}
			validateAgainstDMTFSchema(t, dir, descriptor)
		}
	}
}

func validateAgainstDMTFSchema(t *testing.T, dir string, descriptor []byte) {
	t.Helper()
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("OVF_SCHEMA_DIR is set but xmllint is missing (apt-get install libxml2-utils)")
	}
	work := t.TempDir()
	// One schema that imports every namespace from its local file.
	wrapper := `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:local:ovf-wrapper">
  <xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="` + filepath.Join(dir, "xml.xsd") + `"/>
  <xs:import namespace="http://schemas.dmtf.org/wbem/wscim/1/common" schemaLocation="` + filepath.Join(dir, "common.xsd") + `"/>
  <xs:import namespace="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" schemaLocation="` + filepath.Join(dir, "CIM_VirtualSystemSettingData.xsd") + `"/>
  <xs:import namespace="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" schemaLocation="` + filepath.Join(dir, "CIM_ResourceAllocationSettingData.xsd") + `"/>
  <xs:import namespace="http://schemas.dmtf.org/ovf/envelope/1" schemaLocation="` + filepath.Join(dir, "DSP8023.xsd") + `"/>
</xs:schema>
`
	os.WriteFile(filepath.Join(work, "all.xsd"), []byte(wrapper), 0o644)
	os.WriteFile(filepath.Join(work, "package.ovf"), descriptor, 0o644)
	out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", filepath.Join(work, "all.xsd"), filepath.Join(work, "package.ovf")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "validates") {
		t.Errorf("the OVF does not validate against DSP8023: %v\n%s", err, out)
	}
}

// Every controller and adapter choice becomes the device vSphere makes,
// and each variant still validates.
func TestOVFDescriptor_controllersAndAdapters(t *testing.T) {
	base := ovfDescriptor{Name: "vm", DiskFile: "vm-disk1.vmdk", DiskFileSize: 1, Capacity: 1 << 30, HardwareVersion: 10, CPUs: 1, MemoryMiB: 512, Firmware: "bios", NetworkName: "VM Network", GuestOSType: "debian12_64Guest"}
	cases := []struct {
		controller, adapter string
		want                []string
	}{
		{"lsilogic", "vmxnet3", []string{"*types.VirtualLsiLogicController", "*types.VirtualDisk", "*types.VirtualVmxnet3"}},
		{"pvscsi", "e1000", []string{"*types.ParaVirtualSCSIController", "*types.VirtualDisk", "*types.VirtualE1000"}},
		{"sata", "vmxnet3", []string{"*types.VirtualAHCIController", "*types.VirtualDisk", "*types.VirtualVmxnet3"}},
	}
	for _, tc := range cases {
		d := base
		d.DiskController, d.NetworkAdapter = tc.controller, tc.adapter
		descriptor, err := d.render()
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := configSpec(t, descriptor)
		var got []string
		for _, dev := range devices(spec) {
			got = append(got, reflectType(dev))
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s + %s: devices %v, want %v", tc.controller, tc.adapter, got, tc.want)
		}
		if spec.Firmware != "bios" || spec.Version != "vmx-10" || spec.GuestId != "debian12_64Guest" {
			t.Errorf("%s: firmware %q version %q guest %q", tc.controller, spec.Firmware, spec.Version, spec.GuestId)
		}
		assertRASDOrder(t, descriptor)
	}
	evil := base
	evil.Name, evil.NetworkName, evil.DiskController, evil.NetworkAdapter = `a<b & "c"`, `net<&>`, "lsilogic", "e1000"
	descriptor, _ := evil.render()
	if _, env := configSpec(t, descriptor); *env.VirtualSystem.Name != `a<b & "c"` || env.Network.Networks[0].Name != `net<&>` {
		t.Errorf("names are not escaped: %s", descriptor)
	}
}

func reflectType(v interface{}) string { return fmt.Sprintf("%T", v) }

// The growing overlay must find an input given by a relative path, as a
// builder's artifact may name it.
func TestPostProcess_ovaFromARelativeInputPath(t *testing.T) {
	img := testImage(t)
	t.Chdir(filepath.Dir(img))
	p := configure(t, map[string]interface{}{"output_directory": "exports", "target": []map[string]interface{}{{"format": "ova"}}})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	if _, _, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{filepath.Base(img)}}); err != nil {
		t.Fatal(err)
	}
	_, _, dir := readOVA(t, filepath.Join("exports", "base.ova"))
	assertConvertsBack(t, img, filepath.Join(dir, "base-disk1.vmdk"))
	if left, _ := filepath.Glob(filepath.Join("exports", ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// The accepted disk controllers and network adapters are those the OVF
// descriptor can name.
func TestOVAOptions_acceptedValuesHaveOVFTypes(t *testing.T) {
	t.Parallel()
	if len(validOVADiskControllers) != len(controllerRASD) || len(validOVANetworkAdapters) != len(adapterSubType) {
		t.Fatalf("accepted %v and %v, OVF types for %v and %v", validOVADiskControllers, validOVANetworkAdapters, controllerRASD, adapterSubType)
	}
	for _, c := range validOVADiskControllers {
		if _, ok := controllerRASD[c]; !ok {
			t.Errorf("disk_controller %q has no OVF type", c)
		}
	}
	for _, a := range validOVANetworkAdapters {
		if _, ok := adapterSubType[a]; !ok {
			t.Errorf("network_adapter %q has no OVF type", a)
		}
	}
}
