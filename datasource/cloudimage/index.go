package cloudimage

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

// indexEntry is one image listed in a checksum index.
type indexEntry struct {
	Name      string
	Algorithm string // md5, sha1, sha256, sha512
	Digest    string // lower-case hex
}

type index struct {
	Entries []indexEntry
	// Skipped counts lines that were neither entries, comments nor blank.
	Skipped int
}

var (
	// GNU coreutils: "<hex>  <name>" (text mode) or "<hex> *<name>" (binary).
	gnuLine = regexp.MustCompile(`^([0-9a-fA-F]+) [ *](.+)$`)
	// BSD tagged: "SHA256 (<name>) = <hex>".
	bsdLine = regexp.MustCompile(`^(MD5|SHA1|SHA256|SHA512) ?\((.+)\) ?= ?([0-9a-fA-F]+)$`)

	algorithmByLength = map[int]string{32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
)

// parseIndex reads a checksum index, unwrapping a PGP clear-signed message
// first. Lines it cannot read are skipped and counted; an index with no
// entry at all is an error.
func parseIndex(data []byte) (*index, error) {
	if block, _ := clearsign.Decode(data); block != nil {
		data = block.Plaintext
	}
	idx := &index{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if e, ok := parseLine(line); ok {
			idx.Entries = append(idx.Entries, e)
		} else {
			idx.Skipped++
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if len(idx.Entries) == 0 {
		return nil, fmt.Errorf("no checksum line could be read (%d lines skipped): is it a GNU or BSD style checksum file?", idx.Skipped)
	}
	return idx, nil
}

func parseLine(line string) (indexEntry, bool) {
	if m := bsdLine.FindStringSubmatch(line); m != nil {
		algo := strings.ToLower(m[1])
		if algorithmByLength[len(m[3])] != algo {
			return indexEntry{}, false
		}
		return indexEntry{Name: m[2], Algorithm: algo, Digest: strings.ToLower(m[3])}, true
	}
	if m := gnuLine.FindStringSubmatch(line); m != nil {
		algo, known := algorithmByLength[len(m[1])]
		if !known {
			return indexEntry{}, false
		}
		return indexEntry{Name: strings.TrimPrefix(m[2], "./"), Algorithm: algo, Digest: strings.ToLower(m[1])}, true
	}
	return indexEntry{}, false
}
