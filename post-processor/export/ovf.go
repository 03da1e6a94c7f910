package export

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"text/template"
)

// ovfDescriptor is what the OVF envelope of an `ova` target says: one
// virtual system with one disk and one network adapter.
type ovfDescriptor struct {
	Name            string // the virtual system's id and name
	DiskFile        string // the VMDK's name in the package
	DiskFileSize    int64  // bytes of the VMDK file
	Capacity        int64  // virtual size of the disk in bytes
	PopulatedSize   int64  // bytes of the disk that hold data
	HardwareVersion int
	CPUs            int
	MemoryMiB       int
	Firmware        string // bios | efi
	DiskController  string // lsilogic | pvscsi | sata
	NetworkAdapter  string // vmxnet3 | e1000
	NetworkName     string
	GuestOSType     string // VMware guest id, such as otherLinux64Guest
}

// cimOSLinux64 is "Linux 64-Bit" in CIM_OperatingSystem.OSType, the id
// the OperatingSystemSection must carry (VirtualBox refuses the section
// without it); VMware reads vmw:osType beside it.
const cimOSLinux64 = 101

// streamOptimizedFormat is the disk format URI that vSphere, Workstation
// and VirtualBox accept for a streamOptimized VMDK.
const streamOptimizedFormat = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"

type rasdController struct {
	ResourceType int
	SubType      string
	Label        string
}

// controllerRASD is the hardware item of each disk controller: the CIM
// ResourceType (6 parallel SCSI HBA, 20 other storage device) and the
// ResourceSubType VMware's OVF tooling writes and VirtualBox reads.
var controllerRASD = map[string]rasdController{
	"lsilogic": {6, "lsilogic", "SCSI controller 0"},
	"pvscsi":   {6, "VirtualSCSI", "SCSI controller 0"},
	"sata":     {20, "vmware.sata.ahci", "SATA controller 0"},
}

var adapterSubType = map[string]string{"vmxnet3": "VmxNet3", "e1000": "E1000"}

// The rasd: and vssd: children follow the alphabetical order of their
// CIM schemas' xs:sequence, which a validating parser enforces.
var ovfTemplate = template.Must(template.New("ovf").Funcs(template.FuncMap{"x": xmlEscape}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:href="{{x .DiskFile}}" ovf:id="file1" ovf:size="{{.DiskFileSize}}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="{{.Capacity}}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="{{.Format}}" ovf:populatedSize="{{.PopulatedSize}}"/>
  </DiskSection>
  <NetworkSection>
    <Info>The logical networks the virtual machine connects to</Info>
    <Network ovf:name="{{x .NetworkName}}">
      <Description>The network of the first adapter</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{{x .Name}}">
    <Info>A virtual machine</Info>
    <Name>{{x .Name}}</Name>
    <OperatingSystemSection ovf:id="{{.CIMOSType}}" vmw:osType="{{x .GuestOSType}}">
      <Info>The kind of installed guest operating system</Info>
      <Description>Linux 64-Bit</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{{x .Name}}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-{{printf "%02d" .HardwareVersion}}</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of virtual CPUs</rasd:Description>
        <rasd:ElementName>{{.CPUs}} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.CPUs}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory size</rasd:Description>
        <rasd:ElementName>{{.MemoryMiB}}MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{{.MemoryMiB}}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>Disk controller</rasd:Description>
        <rasd:ElementName>{{.Controller.Label}}</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>{{.Controller.SubType}}</rasd:ResourceSubType>
        <rasd:ResourceType>{{.Controller.ResourceType}}</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>{{x .NetworkName}}</rasd:Connection>
        <rasd:Description>{{.AdapterSubType}} ethernet adapter</rasd:Description>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>{{.AdapterSubType}}</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="{{.Firmware}}"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`))

// withHardware copies a target's resolved hardware into the descriptor.
func (d *ovfDescriptor) withHardware(o OVAOptions) {
	d.HardwareVersion, d.CPUs, d.MemoryMiB, d.Firmware = o.HardwareVersion, o.CPUs, o.MemoryMiB, o.Firmware
	d.DiskController, d.NetworkAdapter, d.NetworkName, d.GuestOSType = o.DiskController, o.NetworkAdapter, o.NetworkName, o.GuestOSType
}

// render writes the OVF 1.x envelope (DSP0243 1.1, the version vSphere,
// Workstation and VirtualBox all import).
func (d ovfDescriptor) render() ([]byte, error) {
	controller, ok := controllerRASD[d.DiskController]
	if !ok {
		return nil, fmt.Errorf("unknown disk controller %q", d.DiskController)
	}
	adapter, ok := adapterSubType[d.NetworkAdapter]
	if !ok {
		return nil, fmt.Errorf("unknown network adapter %q", d.NetworkAdapter)
	}
	var buf bytes.Buffer
	err := ovfTemplate.Execute(&buf, struct {
		ovfDescriptor
		Format         string
		CIMOSType      int
		Controller     rasdController
		AdapterSubType string
	}{d, streamOptimizedFormat, cimOSLinux64, controller, adapter})
	return buf.Bytes(), err
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
