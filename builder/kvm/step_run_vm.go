package kvm

import (
	"context"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/net"

	"github.com/kvmforge/packer-plugin-kvm/internal/console"
	"github.com/kvmforge/packer-plugin-kvm/internal/portlock"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
	"github.com/kvmforge/packer-plugin-kvm/internal/vnc"
)

// stepRunVM starts QEMU headless with the overlay, the seed, a user-mode
// network whose SSH forward binds 127.0.0.1 only (or the host bridge
// net_bridge), a QMP socket and the
// serial console going to a log file, and starts the VM watch (vmwatch.Watch)
// that calls Abort when the VM fails at any point of the build.
//
// It reads driver, ui, work_dir, accelerator, overlay_path and
// ssh_host_port (and seed_path, the efi_* values, additional_disk_paths,
// tpm_socket, the installer's source_image_path, cd_path and floppy_path,
// and the warm start's QEMU arguments when set), and writes serial_log,
// vnc_port and vnc_password (with VNC), serial_console (with SerialInput),
// vm and vm_watch (state.go).
type stepRunVM struct {
	Spec qemu.Spec
	// SerialInput: the serial console listens on a unix socket, for a
	// boot command typed over serial; the step holds the one connection to
	// it and writes the serial log from it (console.Recorder).
	SerialInput bool
	// DialSerial connects to the serial console's socket; nil dials it.
	DialSerial func(ctx context.Context, socket string) (stdnet.Conn, error)
	// OutputDir is named when the guest stops because its filesystem is full.
	OutputDir string
	// Abort ends the build with the watch's error.
	Abort func(error)
	// WatchInterval is how often the watch polls the run state (1s if 0).
	WatchInterval time.Duration

	vm      qemu.VM
	serial  *console.Recorder
	watch   *vmwatch.Watch
	qmpDir  string
	vncPort *net.Listener
}

func (s *stepRunVM) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	driver := keyDriver.Get(state)
	ui := keyUI.Get(state)

	// A unix socket path must stay under 108 bytes, so it lives in /tmp
	// rather than in a possibly deep output directory.
	dir, err := os.MkdirTemp("", "packer-kvm-")
	if err != nil {
		return halt(state, err)
	}
	s.qmpDir = dir
	qmpSocket := filepath.Join(dir, "qmp.sock")

	serialLog := s.Spec.SerialLogFile
	if serialLog == "" {
		serialLog = filepath.Join(keyWorkDir.Get(state), "serial.log")
	}
	keySerialLog.Put(state, serialLog)
	serialSocket := ""
	if s.SerialInput {
		// In the private (0700) socket directory: only the build's user
		// can type into the guest's console.
		serialSocket = filepath.Join(dir, "serial.sock")
	}

	vncDisplay, vncPassword := -1, ""
	if s.Spec.VNC {
		l, err := net.ListenRangeConfig{Addr: "127.0.0.1", Min: 5900, Max: 6000, Network: "tcp"}.Listen(ctx)
		if err != nil {
			return halt(state, fmt.Errorf("finding a free VNC port: %w", err))
		}
		_ = portlock.HandOver(l)
		s.vncPort = l
		vncDisplay = l.Port - 5900
		if vncPassword, err = vnc.NewPassword(); err != nil {
			return halt(state, err)
		}
		keyVNCPort.Put(state, l.Port)
		keyVNCPassword.Put(state, vncPassword)
	}

	args := qemu.Args(s.Spec, qemu.Media{
		Accelerator:  keyAccelerator.Get(state),
		Overlay:      keyOverlayPath.Get(state),
		Seed:         keySeedPath.Get(state),
		SSHHostPort:  keySSHHostPort.Get(state),
		QMPSocket:    qmpSocket,
		SerialLog:    serialLog,
		SerialSocket: serialSocket,
		EFICode:      keyEFICode.Get(state),
		EFIVars:      keyEFIVars.Get(state),
		EFIFormats:   [2]string{keyEFICodeFormat.Get(state), keyEFIVarsFormat.Get(state)},
		EFISMM:       keyEFISMM.Get(state),
		EFISecure:    keyEFISecureVars.Get(state),
		VNCDisplay:   vncDisplay,
		// The additional disks and the TPM, when the template asks for them.
		AdditionalDisks: keyAdditionalDiskPaths.Get(state),
		TPMSocket:       keyTPMSocket.Get(state),
		Installer:       installerMediaFromState(s.Spec.CDROMInterface, state),
	})
	args = append(args, warmQemuArgs(state)...)
	ui.Say("Starting the VM...")
	vm, err := driver.Start(args, qmpSocket)
	if err != nil {
		if bridgeErr := qemu.BridgeFailure(err, s.Spec.Hardware.Bridge, s.Spec.Hardware.BridgeHelper); bridgeErr != nil {
			return halt(state, bridgeErr)
		}
		return halt(state, fmt.Errorf("starting QEMU: %w", err))
	}
	s.vm = vm
	keyVM.Put(state, vm)
	if serialSocket != "" {
		if err := s.recordSerial(ctx, state, vm, serialSocket, serialLog); err != nil {
			return halt(state, err)
		}
	}
	if vncPassword != "" {
		// Until then QEMU's VNC server (password=on) refuses every client.
		if err := vnc.SetPassword(ctx, vm, vncPassword); err != nil {
			return halt(state, err)
		}
		// The person who wants to watch needs the password, but Packer logs
		// what the UI says (PACKER_LOG=1) with no knowledge of the plugin's
		// secrets: the UI names a file only its owner can read instead.
		file, err := vnc.WritePasswordFile(keyWorkDir.Get(state), vncPassword)
		if err != nil {
			return halt(state, err)
		}
		ui.Say(fmt.Sprintf("VNC: connect to 127.0.0.1:%d to watch the console (such as: vncviewer 127.0.0.1::%d); its password is in %s", s.vncPort.Port, s.vncPort.Port, file))
	}
	outputDir, _ := filepath.Abs(s.OutputDir)
	s.watch = vmwatch.Start(vm, vmwatch.Options{
		Serial: serialLogOf(serialLog), DiskDir: outputDir, Interval: s.WatchInterval, OnFailure: s.Abort,
	})
	keyVMWatch.Put(state, s.watch)
	return multistep.ActionContinue
}

// recordSerial connects to the serial console of the VM QEMU started
// paused (-S), starts recording its log, then lets the guest run: the
// firmware's first byte is already recorded.
func (s *stepRunVM) recordSerial(ctx context.Context, state multistep.StateBag, vm qemu.VM, socket, logPath string) error {
	dial := s.DialSerial
	if dial == nil {
		dial = func(ctx context.Context, socket string) (stdnet.Conn, error) {
			var d stdnet.Dialer
			return d.DialContext(ctx, "unix", socket)
		}
	}
	conn, err := dial(ctx, socket)
	if err != nil {
		return fmt.Errorf("connecting to the VM's serial console (%s): %w", socket, err)
	}
	if s.serial, err = console.Record(conn, logPath); err != nil {
		conn.Close()
		return err
	}
	keySerialConsole.Put(state, io.Writer(s.serial))
	if _, err := vm.Command(ctx, "cont", nil); err != nil {
		return fmt.Errorf("starting the VM's CPUs: %w", err)
	}
	return nil
}

// Cleanup stops QEMU if it still runs: after a failure, a cancel, or a
// guest that did not power off in time. When a step failed, the watch gets
// a moment to report a VM failure first: that is the real reason when, for
// example, a provisioner lost its connection to a guest powering off.
func (s *stepRunVM) Cleanup(state multistep.StateBag) {
	if s.watch != nil {
		if _, halted := state.GetOk(multistep.StateHalted); halted {
			s.watch.Settle(3 * time.Second)
		}
		s.watch.Stop()
	}
	if s.vm != nil {
		if err := s.vm.Stop(); err != nil {
			keyUI.Get(state).Error(fmt.Sprintf("stopping QEMU: %s", err))
		}
	}
	// Only now: QEMU drops the keys it has not handed to the guest when
	// the console's client goes away.
	if s.serial != nil {
		if err := s.serial.Close(); err != nil {
			keyUI.Get(state).Error(err.Error())
		}
		s.serial = nil
	}
	if s.vncPort != nil {
		s.vncPort.Close()
	}
	if s.qmpDir != "" {
		os.RemoveAll(s.qmpDir)
	}
}
