package vnc

import (
	"bytes"
	"context"
	"crypto/des"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
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
func TestDial_authenticatesWithTheDisplaysPassword(t *testing.T) {
	server := startVNCServer(t, "Xy7pQ2mK")
	keys, conn, err := Dial(context.Background(), server.port, "Xy7pQ2mK")
	if err != nil {
		t.Fatalf("Dial: %v", err)
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

	if _, _, err := Dial(context.Background(), server.port, "wrong"); err == nil {
		t.Fatal("Dial with a wrong password succeeded")
	}
}
