package cloudimage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
)

// verifyIndex checks the index's OpenPGP signature against publicKey: the
// detached signature when one is given (armored or binary), otherwise the
// index's own clear signature. Version 4 and later signatures are checked
// by the OpenPGP library, version 3 ones (openSUSE) by sigv3.go.
func verifyIndex(index, detached []byte, publicKey string) error {
	keyring, err := openpgp.ReadArmoredKeyRing(strings.NewReader(publicKey))
	if err != nil {
		return fmt.Errorf("public_key is not an armored OpenPGP public key: %w", err)
	}
	if detached != nil {
		sig := detached
		if block, err := armor.Decode(bytes.NewReader(detached)); err == nil {
			if sig, err = io.ReadAll(block.Body); err != nil {
				return err
			}
		}
		return checkSignature(keyring, index, sig, func() error {
			_, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(index), bytes.NewReader(sig), nil)
			return err
		})
	}
	block, _ := clearsign.Decode(index)
	if block == nil {
		return errors.New("the index is not clear-signed and no signature_url was given")
	}
	sig, err := io.ReadAll(block.ArmoredSignature.Body)
	if err != nil {
		return err
	}
	return checkSignature(keyring, block.Bytes, sig, func() error {
		fresh, _ := clearsign.Decode(index) // the first block's signature was read
		_, err := fresh.VerifySignature(keyring, nil)
		return err
	})
}

// checkSignature verifies a version 3 signature here and leaves any other
// to library.
func checkSignature(keyring openpgp.EntityList, signed, sig []byte, library func() error) error {
	v3, err := readV3Signature(sig)
	if err != nil {
		return err
	}
	if v3 != nil {
		return describe(v3.verify(keyring, signed, time.Now()))
	}
	return describe(library())
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
