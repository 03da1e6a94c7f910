package kvm

import (
	"bytes"
	"context"
	"crypto/des"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

// vncServer is a VNC server that, like QEMU's with password=on, offers
// only VNC authentication (RFB 3.8, security type 2) and lets in a client
// that answers its challenge with password. It records the keys pressed.
type vncServer struct {
	port     int
	password string
	keys     chan uint32
	authErrs chan error
}

func startVNCServer(t *testing.T, password string) *vncServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &vncServer{port: l.Addr().(*net.TCPAddr).Port, password: password, keys: make(chan uint32, 64), authErrs: make(chan error, 4)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

// vncResponse is the answer to a VNC authentication challenge: the
// challenge DES-encrypted with the password (8 bytes, zero-padded, each
// byte's bits reversed, as the RFB protocol's VNC authentication does).
func vncResponse(password string, challenge []byte) []byte {
	key := make([]byte, 8)
	copy(key, password)
	for i, b := range key {
		var r byte
		for bit := 0; bit < 8; bit++ {
			r = r<<1 | b>>bit&1
		}
		key[i] = r
	}
	block, _ := des.NewCipher(key)
	out := make([]byte, 16)
	block.Encrypt(out[:8], challenge[:8])
	block.Encrypt(out[8:], challenge[8:])
	return out
}

func (s *vncServer) serve(c net.Conn) {
	defer c.Close()
	fail := func(err error) { s.authErrs <- err }
	io.WriteString(c, "RFB 003.008\n")
	version := make([]byte, 12)
	if _, err := io.ReadFull(c, version); err != nil {
		fail(err)
		return
	}
	c.Write([]byte{1, 2}) // one security type: VNC authentication
	chosen := make([]byte, 1)
	if _, err := io.ReadFull(c, chosen); err != nil {
		fail(fmt.Errorf("the client chose no security type: %w", err))
		return
	}
	if chosen[0] != 2 {
		fail(fmt.Errorf("the client chose security type %d", chosen[0]))
		return
	}
	challenge := []byte("0123456789abcdef")
	c.Write(challenge)
	response := make([]byte, 16)
	if _, err := io.ReadFull(c, response); err != nil {
		fail(err)
		return
	}
	if !bytes.Equal(response, vncResponse(s.password, challenge)) {
		binary.Write(c, binary.BigEndian, uint32(1))
		fail(errors.New("wrong password"))
		return
	}
	binary.Write(c, binary.BigEndian, uint32(0))
	io.ReadFull(c, make([]byte, 1)) // ClientInit
	// ServerInit: 640x480, a 32-bit true-colour pixel format, a name.
	init := []byte{2, 128, 1, 224, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0, 0, 0, 0, 3, 'v', 'm', '0'}
	c.Write(init)
	s.authErrs <- nil
	for {
		msgType := make([]byte, 1)
		if _, err := io.ReadFull(c, msgType); err != nil {
			return
		}
		switch msgType[0] {
		case 4: // KeyEvent: down flag, 2 padding bytes, key
			msg := make([]byte, 7)
			if _, err := io.ReadFull(c, msg); err != nil {
				return
			}
			if msg[0] == 1 {
				s.keys <- binary.BigEndian.Uint32(msg[3:])
			}
		default:
			return // the boot command sends key events only
		}
	}
}

// The boot command logs in to a display that has a password (QEMU's
// password=on) and types there; with a wrong password it is refused.
func TestDialVNC_authenticatesWithTheDisplaysPassword(t *testing.T) {
	server := startVNCServer(t, "Xy7pQ2mK")
	keys, conn, err := dialVNC(context.Background(), server.port, "Xy7pQ2mK")
	if err != nil {
		t.Fatalf("dialVNC: %v", err)
	}
	defer conn.Close()
	if err := <-server.authErrs; err != nil {
		t.Fatalf("the server refused the client: %v", err)
	}
	if err := keys.KeyEvent('a', true); err != nil {
		t.Fatal(err)
	}
	if key := <-server.keys; key != 'a' {
		t.Fatalf("the server got key %#x, want 'a'", key)
	}

	if _, _, err := dialVNC(context.Background(), server.port, "wrong"); err == nil {
		t.Fatal("dialVNC with a wrong password succeeded")
	}
}

// A VNC display gets a random password: QEMU starts it with password=on,
// the step sets the password over QMP, publishes it for the boot command,
// shows it to the user and hides it from the logs.
func TestStepRunVM_protectsVNCWithARandomPassword(t *testing.T) {
	t.Setenv("PACKER_CACHE_DIR", t.TempDir())
	var passwords []string
	for i := 0; i < 2; i++ {
		state, driver, step := vncRunVMStep(t)
		if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
			t.Fatalf("halted: %v", stateErr(state))
		}
		defer step.Cleanup(state)
		port := keyVNCPort.Get(state)
		cmdline := strings.Join(driver.StartArgs, " ")
		if want := fmt.Sprintf("-vnc 127.0.0.1:%d,password=on", port-5900); !strings.Contains(cmdline, want) {
			t.Fatalf("command line lacks %q:\n%s", want, cmdline)
		}
		password := keyVNCPassword.Get(state)
		if len(password) != vncPasswordLength {
			t.Fatalf("vnc_password %q, want %d characters", password, vncPasswordLength)
		}
		set := -1
		for i, name := range driver.VM.CommandCalls {
			if name == "set_password" {
				set = i
			}
		}
		if set < 0 {
			t.Fatalf("the password was not set over QMP: %v", driver.VM.CommandCalls)
		}
		if args := fmt.Sprint(driver.VM.CommandArgs[set]); args != fmt.Sprint(map[string]interface{}{"protocol": "vnc", "password": password}) {
			t.Fatalf("set_password %s, want the vnc password %s", args, password)
		}
		file := filepath.Join(keyWorkDir.Get(state), "vnc-password")
		out := uiOutput(state)
		if !strings.Contains(out, fmt.Sprintf("connect to 127.0.0.1:%d", port)) || !strings.Contains(out, "password is in "+file) {
			t.Fatalf("the UI does not say how to watch the console:\n%s", out)
		}
		if strings.Contains(out, password) {
			t.Fatalf("the UI, which Packer logs, shows the password:\n%s", out)
		}
		if data, err := os.ReadFile(file); err != nil || string(data) != password+"\n" {
			t.Fatalf("%s holds %q (%v), want the password", file, data, err)
		}
		if info, _ := os.Stat(file); info.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v: others may read the password", file, info.Mode())
		}
		var logged bytes.Buffer
		packersdk.LogSecretFilter.SetOutput(&logged)
		fmt.Fprintf(&packersdk.LogSecretFilter, "ui: password %s\n", password)
		packersdk.LogSecretFilter.SetOutput(io.Discard)
		if strings.Contains(logged.String(), password) {
			t.Fatalf("the password reaches the logs: %s", logged.String())
		}
		passwords = append(passwords, password)
	}
	if passwords[0] == passwords[1] {
		t.Fatalf("two builds got the same VNC password %s", passwords[0])
	}
}

// A display whose password cannot be set would refuse everyone: the
// build stops.
func TestStepRunVM_failsWhenTheVNCPasswordCannotBeSet(t *testing.T) {
	t.Setenv("PACKER_CACHE_DIR", t.TempDir())
	state, driver, step := vncRunVMStep(t)
	driver.VM = qemumock.NewVMMock()
	driver.VM.CommandErrs = map[string]error{"set_password": errors.New("Could not set password")}
	defer step.Cleanup(state)
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "VNC display's password") {
		t.Fatalf("want a halt naming the VNC password, got %v", stateErr(state))
	}
}

// vncRunVMStep is a run-VM step with VNC on, and the state it reads.
func vncRunVMStep(t *testing.T) (*multistep.BasicStateBag, *qemumock.DriverMock, *stepRunVM) {
	t.Helper()
	state, driver := testState(t)
	dir := t.TempDir()
	keyWorkDir.Put(state, dir)
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, dir+"/disk.qcow2")
	keySSHHostPort.Put(state, 2999)
	spec := testSpec()
	spec.VNC = true
	return state, driver, &stepRunVM{Spec: spec}
}
