package cloudimage

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// OpenPGP version 3 signatures (RFC 4880, section 5.2.2). The openSUSE
// Build Service still makes them by default (obs-signd without -4), and
// the OpenPGP library skips them as unsupported packets, so a correct
// signature would read as one by an unknown key. Only what such a
// signature needs is read here: its packet, an RSA signature value and a
// SHA-2 hash.

// v3Signature is a parsed version 3 signature packet.
type v3Signature struct {
	sigType packet.SignatureType
	created [4]byte
	keyID   uint64
	pubAlgo packet.PublicKeyAlgorithm
	hash    crypto.Hash
	hashTag [2]byte // the left 16 bits of the signed hash
	value   []byte  // the RSA signature value, big-endian
}

const signaturePacketTag = 2

// v3HashAlgorithms are the OpenPGP hash IDs accepted (RFC 4880, 9.4): the
// SHA-2 family; MD5 and SHA-1 are too weak to sign an index with.
var v3HashAlgorithms = map[byte]crypto.Hash{8: crypto.SHA256, 9: crypto.SHA384, 10: crypto.SHA512, 11: crypto.SHA224}

// readV3Signature returns the signature when the first packet of a binary
// signature is a version 3 signature, and nil when it is anything else
// (left to the OpenPGP library).
func readV3Signature(data []byte) (*v3Signature, error) {
	tag, body, err := firstPacket(data)
	if err != nil {
		return nil, nil // not a packet we read: the library reports it
	}
	if tag != signaturePacketTag || len(body) == 0 || body[0] != 3 {
		return nil, nil
	}
	if len(body) < 19 || body[1] != 5 {
		return nil, errors.New("malformed version 3 signature packet")
	}
	sig := &v3Signature{
		sigType: packet.SignatureType(body[2]),
		keyID:   binary.BigEndian.Uint64(body[7:15]),
		pubAlgo: packet.PublicKeyAlgorithm(body[15]),
	}
	copy(sig.created[:], body[3:7])
	copy(sig.hashTag[:], body[17:19])
	hash, ok := v3HashAlgorithms[body[16]]
	if !ok {
		return nil, fmt.Errorf("the version 3 signature uses hash algorithm %d: only SHA-224, SHA-256, SHA-384 and SHA-512 are accepted", body[16])
	}
	sig.hash = hash
	if sig.pubAlgo != packet.PubKeyAlgoRSA && sig.pubAlgo != packet.PubKeyAlgoRSASignOnly {
		return nil, fmt.Errorf("the version 3 signature uses public-key algorithm %d: only RSA is supported for version 3 signatures", sig.pubAlgo)
	}
	if sig.value, err = readMPI(body[19:]); err != nil {
		return nil, fmt.Errorf("malformed version 3 signature: %w", err)
	}
	return sig, nil
}

// firstPacket splits off the first OpenPGP packet (RFC 4880, 4.2): its tag
// and body, in the old or the new header format.
func firstPacket(data []byte) (byte, []byte, error) {
	if len(data) < 2 || data[0]&0x80 == 0 {
		return 0, nil, errors.New("not an OpenPGP packet")
	}
	var tag byte
	var length, offset int
	if data[0]&0x40 == 0 { // old format: the length type is in the tag byte
		tag = (data[0] >> 2) & 0x0f
		switch data[0] & 3 {
		case 0:
			length, offset = int(data[1]), 2
		case 1:
			if len(data) < 3 {
				return 0, nil, errors.New("truncated packet header")
			}
			length, offset = int(binary.BigEndian.Uint16(data[1:3])), 3
		case 2:
			if len(data) < 5 {
				return 0, nil, errors.New("truncated packet header")
			}
			length, offset = int(binary.BigEndian.Uint32(data[1:5])), 5
		default: // indeterminate: to the end of the data
			length, offset = len(data)-1, 1
		}
	} else {
		tag = data[0] & 0x3f
		switch first := int(data[1]); {
		case first < 192:
			length, offset = first, 2
		case first < 224:
			if len(data) < 3 {
				return 0, nil, errors.New("truncated packet header")
			}
			length, offset = (first-192)<<8+int(data[2])+192, 3
		case first == 255:
			if len(data) < 6 {
				return 0, nil, errors.New("truncated packet header")
			}
			length, offset = int(binary.BigEndian.Uint32(data[2:6])), 6
		default:
			return 0, nil, errors.New("partial body lengths are not valid in a signature")
		}
	}
	if length < 0 || len(data)-offset < length {
		return 0, nil, errors.New("truncated packet")
	}
	return tag, data[offset : offset+length], nil
}

// readMPI reads a multiprecision integer: a 16-bit length in bits, then
// the bytes.
func readMPI(data []byte) ([]byte, error) {
	if len(data) < 2 {
		return nil, errors.New("missing signature value")
	}
	n := (int(binary.BigEndian.Uint16(data)) + 7) / 8
	if n == 0 || len(data)-2 < n {
		return nil, errors.New("truncated signature value")
	}
	return data[2 : 2+n], nil
}

// verify checks the signature over signed against the keyring's signing
// keys with the signature's key ID.
func (s *v3Signature) verify(keyring openpgp.EntityList, signed []byte, now time.Time) error {
	keys := keyring.KeysByIdUsage(s.keyID, packet.KeyFlagSign)
	if len(keys) == 0 {
		return pgperrors.ErrUnknownIssuer
	}
	h := s.hash.New()
	switch s.sigType {
	case packet.SigTypeBinary:
		h.Write(signed)
	case packet.SigTypeText:
		h.Write(canonicalText(signed))
	default:
		return fmt.Errorf("a version 3 signature of type %#x is not a document signature", byte(s.sigType))
	}
	// Version 3 hashes the type and creation time after the data.
	h.Write([]byte{byte(s.sigType)})
	h.Write(s.created[:])
	digest := h.Sum(nil)
	if !bytes.Equal(digest[:2], s.hashTag[:]) {
		return pgperrors.SignatureError("the index does not match its version 3 signature")
	}
	for _, key := range keys {
		pub, ok := key.PublicKey.PublicKey.(*rsa.PublicKey)
		if !ok {
			continue
		}
		if rsa.VerifyPKCS1v15(pub, s.hash, digest, leftPad(s.value, pub.Size())) == nil {
			return keyUsable(key, now)
		}
	}
	return pgperrors.SignatureError("the version 3 signature does not verify with public_key")
}

// keyUsable applies the library's checks of a signing key: not revoked,
// not expired.
func keyUsable(key openpgp.Key, now time.Time) error {
	selfSig, identity := key.Entity.PrimarySelfSignature()
	bySubkey := key.PublicKey != key.Entity.PrimaryKey
	if key.Entity.Revoked(now) || (bySubkey && key.Revoked(now)) || (identity != nil && identity.Revoked(now)) {
		return pgperrors.ErrKeyRevoked
	}
	if key.Entity.PrimaryKey.KeyExpired(selfSig, now) || (bySubkey && key.PublicKey.KeyExpired(key.SelfSignature, now)) {
		return pgperrors.ErrKeyExpired
	}
	return nil
}

// canonicalText gives text CRLF line endings, as text signatures hash it.
func canonicalText(text []byte) []byte {
	lf := bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
}

// leftPad restores the leading zero bytes an MPI drops.
func leftPad(b []byte, size int) []byte {
	if len(b) >= size {
		return b
	}
	return append(make([]byte, size-len(b)), b...)
}
