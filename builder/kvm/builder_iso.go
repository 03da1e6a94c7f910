package kvm

import (
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
)

// installerSteps turns the cloud-image build's steps into an installer
// build's: the ISO is downloaded instead of the cloud image and checked
// (stepCheckInstallerMedia), a blank disk replaces the overlay and is followed by the installer's media (cd_files
// CD, floppy; the HTTP server is every build's), there is no cloud-init seed, the boot command
// is typed once QEMU runs, cloud-init is waited for only on request, and
// the builder takes back only the temporary key (the installer, not the
// builder, created the user and its access). Editing the one step list
// keeps both kinds of build going through the same steps otherwise.
func (b *Builder) installerSteps(steps []multistep.Step) []multistep.Step {
	c := &b.config
	var out []multistep.Step
	for _, step := range steps {
		switch s := step.(type) {
		case *stepDownloadSource:
			s.Download = &commonsteps.StepDownload{
				Checksum:    c.ISOConfig.ISOChecksum,
				Description: "ISO",
				Extension:   c.ISOConfig.TargetExtension,
				ResultKey:   string(keySourceImagePath),
				TargetPath:  c.ISOConfig.TargetPath,
				Url:         c.ISOConfig.ISOUrls,
			}
			out = append(out, s)
		case *stepCreateOverlay:
			out = append(out,
				&stepCheckInstallerMedia{},
				&stepCreateBlankDisk{Size: c.diskSizeBytes},
				&stepCreateCD{Files: c.CDConfig.CDFiles, Content: c.CDConfig.CDContent, Label: c.CDConfig.CDLabel},
				&commonsteps.StepCreateFloppy{
					Files:       c.FloppyConfig.FloppyFiles,
					Directories: c.FloppyConfig.FloppyDirectories,
					Content:     c.FloppyConfig.FloppyContent,
					Label:       c.FloppyConfig.FloppyLabel,
				})
		case *stepCreateSeed:
			// An installer configures the installed system itself.
		case *stepRunVM:
			s.Spec.CDROMInterface = c.CDROMInterface
			// A boot command typed over serial needs no display.
			s.SerialInput = c.typesOverSerial()
			s.Spec.VNC = s.Spec.VNC || len(c.VNCConfig.BootCommand) > 0 && !s.SerialInput
			out = append(out, s, &stepTypeBootCommand{
				Command:       c.VNCConfig.FlatBootCommand(),
				BootWait:      c.VNCConfig.BootWait,
				KeyInterval:   c.VNCConfig.BootKeyInterval,
				Name:          c.PackerBuildName,
				PublicKey:     b.publicKeyWithComment,
				Ctx:           c.ctx,
				SerialInput:   s.SerialInput,
				SerialTimeout: c.BootSerialTimeout,
			})
		case *stepWaitForSSH:
			// Installers may print nothing on the serial console: the
			// screen and the disks tell a working one from a stuck one.
			s.WatchActivity = true
			out = append(out, s)
		case *stepWaitCloudInit:
			s.Enabled = c.WaitForCloudInit.True()
			out = append(out, s)
		case *stepRevokeBuildAccess:
			s.Password, s.Keep = false, true
			out = append(out, s)
		default:
			out = append(out, step)
		}
	}
	return out
}

// publicKeyWithComment is the build's temporary public key as
// {{ .SSHPublicKey }} gives it to the boot command: with the comment that
// lets the builder find and remove it before shutdown.
func (b *Builder) publicKeyWithComment() string {
	c := &b.config
	key := strings.TrimSpace(string(c.Comm.SSHPublicKey))
	if key == "" {
		return ""
	}
	return key + " " + c.Comm.SSHTemporaryKeyPairName
}
