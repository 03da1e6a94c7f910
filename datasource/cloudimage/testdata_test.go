package cloudimage

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func sha512hex(s string) string { h := sha512.Sum512([]byte(s)); return hex.EncodeToString(h[:]) }
func sha256hex(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// Fixtures in the shapes distributions publish.
var (
	// Debian: GNU style, SHA-512, dated and undated names side by side.
	debianSums = strings.Join([]string{
		sha512hex("a") + "  debian-12-genericcloud-amd64-20240102-1614.qcow2",
		sha512hex("b") + "  debian-12-genericcloud-amd64-20240211-1654.qcow2",
		sha512hex("c") + "  debian-12-genericcloud-amd64-20231228-1609.qcow2",
		sha512hex("d") + "  debian-12-generic-amd64-20240211-1654.tar.xz",
		sha512hex("e") + "  debian-12-genericcloud-arm64-20240211-1654.qcow2",
	}, "\n") + "\n"
	// Ubuntu: GNU binary mode ("*name"), SHA-256.
	ubuntuSums = sha256hex("noble") + " *noble-server-cloudimg-amd64.img\n" +
		sha256hex("noble-arm") + " *noble-server-cloudimg-arm64.img\n" +
		sha256hex("manifest") + " *noble-server-cloudimg-amd64.manifest\n"
	// Fedora: BSD tagged lines with comments.
	fedoraChecksum = "# Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2: 557187072 bytes\n" +
		"SHA256 (Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2) = " + sha256hex("f41") + "\n" +
		"# Fedora-Cloud-Base-Generic-41-1.4.x86_64.raw.xz: 400000000 bytes\n" +
		"SHA256 (Fedora-Cloud-Base-Generic-41-1.4.x86_64.raw.xz) = " + sha256hex("f41raw") + "\n"
)

var testKey, testOtherKey *openpgp.Entity

// signingKey is an RSA key (the library's default), made once per run.
func signingKey(t testing.TB) *openpgp.Entity { return rsaKey(t, &testKey, "Cloud Images") }

// otherKey is a second RSA key, not the one given as public_key.
func otherKey(t *testing.T) *openpgp.Entity { return rsaKey(t, &testOtherKey, "Someone Else") }

func rsaKey(t testing.TB, cache **openpgp.Entity, name string) *openpgp.Entity {
	t.Helper()
	if *cache == nil {
		k, err := openpgp.NewEntity(name, "test", "images@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoRSA})
		if err != nil {
			t.Fatal(err)
		}
		*cache = k
	}
	return *cache
}

func armoredPublicKey(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	var buf bytes.Buffer
	w, _ := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.String()
}

func clearSigned(t testing.TB, e *openpgp.Entity, text string) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, e.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, text)
	w.Close()
	return buf.String()
}

func detachedSignature(t *testing.T, e *openpgp.Entity, text string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&buf, e, strings.NewReader(text), nil); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
