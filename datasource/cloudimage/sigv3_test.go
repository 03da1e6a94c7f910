package cloudimage

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// obsV3Signature builds a version 3 signature packet (RFC 4880, 5.2.2) the
// way obs-signd makes them by default: an old-format packet header, RSA,
// SHA-256. keyID is the issuer the packet names; signer's RSA key makes the
// signature value. sigType 0x00 signs bytes, 0x01 canonical text (the
// caller passes it with CRLF line endings). GnuPG 2.2.40 reports such
// packets, detached and clear-signed, as good signatures by the key (checked
// by hand: GnuPG can verify version 3 signatures but no longer make them).
func obsV3Signature(t testing.TB, signer *openpgp.Entity, keyID uint64, signed []byte, sigType byte) []byte {
	t.Helper()
	created := binary.BigEndian.AppendUint32(nil, uint32(time.Now().Unix())) // after the key's creation
	h := sha256.New()
	h.Write(signed)
	h.Write([]byte{sigType})
	h.Write(created)
	digest := h.Sum(nil)
	value, err := rsa.SignPKCS1v15(nil, signer.PrivateKey.PrivateKey.(*rsa.PrivateKey), crypto.SHA256, digest)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte{3, 5, sigType}, created...)
	body = binary.BigEndian.AppendUint64(body, keyID)
	body = append(body, 1 /* RSA */, 8 /* SHA-256 */, digest[0], digest[1])
	bits := new(big.Int).SetBytes(value).BitLen()
	body = append(body, byte(bits>>8), byte(bits))
	body = append(body, bytes.TrimLeft(value, "\x00")...)
	return append([]byte{0x80 | 2<<2 | 1, byte(len(body) >> 8), byte(len(body))}, body...)
}

func armorSignature(t *testing.T, raw []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, "PGP SIGNATURE", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	w.Close()
	return buf.String()
}

// openSUSE publishes <image>.sha256 with a detached <image>.sha256.asc made
// by the build service, whose signatures are still version 3.
func TestResolve_version3Signatures(t *testing.T) {
	key, other := signingKey(t), otherKey(t)
	keyID := key.PrimaryKey.KeyId
	index := []byte(sha256hex("leap") + " openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2\n")
	tampered := []byte(sha256hex("evil") + " openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2\n")
	// Clear-signed text hashes its lines with CRLF, without the last line
	// break (RFC 4880, 7.1).
	clearText := fedoraChecksum
	canonical := []byte(strings.ReplaceAll(strings.TrimSuffix(clearText, "\n"), "\n", "\r\n"))
	clear := func(sig []byte) string {
		return "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + clearText + armorSignature(t, sig)
	}
	srv := newServer(t, map[string]string{
		"/leap.sha256":            string(index),
		"/leap.sha256.asc":        armorSignature(t, obsV3Signature(t, key, keyID, index, 0)),
		"/leap.sha256.sig":        string(obsV3Signature(t, key, keyID, index, 0)),
		"/leap.sha256.tampered":   armorSignature(t, obsV3Signature(t, key, keyID, tampered, 0)),
		"/leap.sha256.other":      armorSignature(t, obsV3Signature(t, other, other.PrimaryKey.KeyId, index, 0)),
		"/leap.sha256.forged":     armorSignature(t, obsV3Signature(t, other, keyID, index, 0)),
		"/fedora/CHECKSUM":        clear(obsV3Signature(t, key, keyID, canonical, 1)),
		"/fedora/CHECKSUM.other":  clear(obsV3Signature(t, other, other.PrimaryKey.KeyId, canonical, 1)),
		"/fedora/CHECKSUM.edited": strings.Replace(clear(obsV3Signature(t, key, keyID, canonical, 1)), sha256hex("f41"), sha256hex("evil"), 1),
	})
	cases := map[string]struct{ index, signature, want string }{
		"detached, armored":               {"/leap.sha256", "/leap.sha256.asc", ""},
		"detached, binary":                {"/leap.sha256", "/leap.sha256.sig", ""},
		"over other data":                 {"/leap.sha256", "/leap.sha256.tampered", "does not match"},
		"by another key":                  {"/leap.sha256", "/leap.sha256.other", "other than public_key"},
		"naming the key, made by another": {"/leap.sha256", "/leap.sha256.forged", "does not verify"},
		"clear-signed":                    {"/fedora/CHECKSUM", "", ""},
		"clear-signed by another key":     {"/fedora/CHECKSUM.other", "", "other than public_key"},
		"clear-signed, edited":            {"/fedora/CHECKSUM.edited", "", "does not match"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := map[string]interface{}{"index_url": srv.URL + tc.index, "name_glob": "*.qcow2", "public_key": armoredPublicKey(t, key)}
			if tc.signature != "" {
				cfg["signature_url"] = srv.URL + tc.signature
			}
			out, err := configure(t, cfg).resolve(t.Context())
			if tc.want == "" {
				if err != nil || !strings.HasPrefix(out.Checksum, "sha256:") {
					t.Fatalf("out %+v err %v", out, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not mention %q", err, tc.want)
			}
		})
	}
}

func TestReadV3Signature_refusesWeakHashes(t *testing.T) {
	sig := obsV3Signature(t, signingKey(t), 1, []byte("x"), 0)
	sig[3+16] = 2 // SHA-1
	if _, err := readV3Signature(sig); err == nil || !strings.Contains(err.Error(), "hash algorithm 2") {
		t.Fatalf("a SHA-1 version 3 signature must be refused, got %v", err)
	}
}
