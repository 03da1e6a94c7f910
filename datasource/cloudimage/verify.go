package cloudimage

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
)

// verifyIndex checks the index's OpenPGP signature against publicKey: the
// detached signature when one is given (armored or binary), otherwise the
// index's own clear signature.
func verifyIndex(index, detached []byte, publicKey string) error {
	keyring, err := openpgp.ReadArmoredKeyRing(strings.NewReader(publicKey))
	if err != nil {
		return fmt.Errorf("public_key is not an armored OpenPGP public key: %w", err)
	}
	if detached != nil {
		sig := detached
		if block, err := armor.Decode(bytes.NewReader(detached)); err == nil {
			var buf bytes.Buffer
			if _, err := buf.ReadFrom(block.Body); err != nil {
				return err
			}
			sig = buf.Bytes()
		}
		_, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(index), bytes.NewReader(sig), nil)
		return describe(err)
	}
	block, _ := clearsign.Decode(index)
	if block == nil {
		return errors.New("the index is not clear-signed and no signature_url was given")
	}
	_, err = block.VerifySignature(keyring, nil)
	return describe(err)
}

func describe(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgperrors.ErrUnknownIssuer) {
		return errors.New("it is signed by a key other than public_key")
	}
	return err
}
