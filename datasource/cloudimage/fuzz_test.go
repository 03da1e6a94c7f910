package cloudimage

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// parseIndex reads what a mirror serves: whatever it is given, it never
// panics; what it accepts are entries whose digest is the lower-case hex
// of their algorithm's length, and that read back the same when written
// out again as GNU lines.
func FuzzParseIndex(f *testing.F) {
	seeds := []struct{ data, indexName string }{
		{debianSums, "SHA512SUMS"},
		{ubuntuSums, "SHA256SUMS"},
		{fedoraChecksum, "Fedora-Cloud-41-1.4-x86_64-CHECKSUM"},
		{clearSigned(f, signingKey(f), fedoraChecksum), "CHECKSUM"},
		// openSUSE: one space, no mode character.
		{sha256hex("leap") + " openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2\n", "leap.qcow2.sha256"},
		// Alpine: the digest alone, in a file named after the image.
		{sha512hex("alpine") + "\n", "generic_alpine-3.20.3-x86_64-bios-cloudinit-r0.qcow2.sha512"},
		// Windows line ends, a byte order mark, ./ and an escaped name.
		{"\xef\xbb\xbf" + sha256hex("crlf") + "  ./rocky-9.qcow2\r\n", "SHA256SUMS"},
		{`\` + sha256hex("esc") + `  back\\slash\nname.img` + "\n", "SHA256SUMS"},
		{"SHA512 (x.img)=" + strings.ToUpper(sha512hex("x")) + "\nMD5 (y.img) = " + sha256hex("wrong length") + "\n", "SUMS"},
		{"", "SHA256SUMS"},
		{"# only a comment\n\n", "SHA256SUMS"},
		{"not a checksum line\nabc  short.img\n", "x.sha256"},
		{"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\ngarbage", "SHA256SUMS"},
	}
	for _, s := range seeds {
		f.Add([]byte(s.data), s.indexName)
	}
	f.Fuzz(func(t *testing.T, data []byte, indexName string) {
		idx, err := parseIndex(data, indexName)
		if err != nil {
			if idx != nil {
				t.Fatalf("an error (%v) with an index %+v", err, idx)
			}
			return
		}
		if len(idx.Entries) == 0 || idx.Skipped < 0 {
			t.Fatalf("accepted an index of %d entries, %d skipped", len(idx.Entries), idx.Skipped)
		}
		var gnu strings.Builder
		var writable []indexEntry
		for _, e := range idx.Entries {
			checkEntry(t, e)
			if gnuWritable(e.Name) {
				fmt.Fprintf(&gnu, "%s *%s\n", e.Digest, e.Name)
				writable = append(writable, e)
			}
		}
		if len(writable) == 0 {
			return
		}
		again, err := parseIndex([]byte(gnu.String()), "SHA256SUMS")
		if err != nil || again.Skipped != 0 || !reflect.DeepEqual(again.Entries, writable) {
			t.Fatalf("entries %+v written as\n%s\nread back as %+v, %v", writable, gnu.String(), again, err)
		}
	})
}

// checkEntry asserts what every entry of an index holds.
func checkEntry(t *testing.T, e indexEntry) {
	t.Helper()
	want := map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}[e.Algorithm]
	if want == 0 || len(e.Digest) != want || strings.Trim(e.Digest, "0123456789abcdef") != "" {
		t.Fatalf("entry %+v: not a lower-case %s digest", e, e.Algorithm)
	}
	if e.Name == "" {
		t.Fatalf("entry %+v has no name", e)
	}
}

// gnuWritable tells whether a name survives a plain GNU line: lines are
// trimmed, split at line ends, and lose one leading "./".
func gnuWritable(name string) bool {
	return name == strings.TrimSpace(name) && !strings.ContainsAny(name, "\r\n") && !strings.HasPrefix(name, "./")
}

// readV3Signature reads a signature file's first packet: whatever it is
// given, it never panics; a signature it accepts is RSA over a SHA-2 hash,
// reads back the same once written again, and never verifies over other
// data than the one it signs.
func FuzzReadV3Signature(f *testing.F) {
	key := signingKey(f)
	signed := []byte(sha256hex("leap") + " openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2\n")
	binarySig := obsV3Signature(f, key, key.PrimaryKey.KeyId, signed, 0)
	textSig := obsV3Signature(f, key, key.PrimaryKey.KeyId, []byte(strings.ReplaceAll(fedoraChecksum, "\n", "\r\n")), 1)
	newFormat := append([]byte{0xc0 | signaturePacketTag, 192 + byte((len(binarySig)-3-192)>>8), byte(len(binarySig) - 3 - 192)}, binarySig[3:]...)
	sha1 := bytes.Clone(binarySig)
	sha1[3+16] = 2
	for _, seed := range [][]byte{binarySig, textSig, newFormat, sha1, binarySig[:20], binarySig[:len(binarySig)-1], {}, {0x88}, {0x89, 0xff}, []byte("-----BEGIN PGP SIGNATURE-----")} {
		f.Add(seed)
	}
	keyring := openpgp.EntityList{key}
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := readV3Signature(data)
		if err != nil && sig != nil {
			t.Fatalf("an error (%v) with a signature %+v", err, sig)
		}
		if sig == nil {
			return
		}
		if _, sha2 := v3HashID(sig.hash); !sha2 || len(sig.value) == 0 || (sig.pubAlgo != packet.PubKeyAlgoRSA && sig.pubAlgo != packet.PubKeyAlgoRSASignOnly) {
			t.Fatalf("accepted %+v", sig)
		}
		if again, err := readV3Signature(encodeV3Signature(sig)); err != nil || !reflect.DeepEqual(again, sig) {
			t.Fatalf("%+v written again reads as %+v, %v", sig, again, err)
		}
		if err := sig.verify(keyring, []byte("other data"), now); err == nil {
			t.Fatalf("%+v verifies over other data", sig)
		}
		sig.verify(keyring, signed, now) // must not panic, whatever it says
	})
}

// v3HashID is the OpenPGP ID of an accepted hash.
func v3HashID(h crypto.Hash) (byte, bool) {
	for id, hash := range v3HashAlgorithms {
		if hash == h {
			return id, true
		}
	}
	return 0, false
}

// encodeV3Signature writes sig as an old-format packet, as obs-signd does.
func encodeV3Signature(sig *v3Signature) []byte {
	hashID, _ := v3HashID(sig.hash)
	body := append([]byte{3, 5, byte(sig.sigType)}, sig.created[:]...)
	body = binary.BigEndian.AppendUint64(body, sig.keyID)
	body = append(body, byte(sig.pubAlgo), hashID, sig.hashTag[0], sig.hashTag[1])
	body = binary.BigEndian.AppendUint16(body, uint16(min(len(sig.value)*8, 0xffff))) // bits: the bytes read back the same
	body = append(body, sig.value...)
	return append([]byte{0x80 | signaturePacketTag<<2 | 1, byte(len(body) >> 8), byte(len(body))}, body...)
}
