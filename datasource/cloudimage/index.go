package cloudimage

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
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
	// GNU coreutils: "<hex>  <name>" (text mode) or "<hex> *<name>"
	// (binary). openSUSE's build service writes a single space and no
	// mode character ("<hex> <name>"), so any run of blanks is accepted.
	gnuLine = regexp.MustCompile(`^([0-9a-fA-F]+)[ \t]+(\*?)(.+)$`)
	// A digest alone (Alpine's cloud images, some mirrors): the name is
	// the file the index is named after.
	digestOnly = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	// BSD tagged: "SHA256 (<name>) = <hex>", as written by `sha256sum
	// --tag`, Fedora, CentOS Stream and Rocky.
	bsdLine = regexp.MustCompile(`^(MD5|SHA1|SHA256|SHA512)[ \t]*\((.+)\)[ \t]*=[ \t]*([0-9a-fA-F]+)$`)

	algorithmByLength = map[int]string{32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}

	// perFileSuffixes name a checksum file after the one file it covers
	// (foo.qcow2.sha256 covers foo.qcow2), by distribution: openSUSE and
	// Alpine .sha256/.sha512, Arch .SHA256, CentOS Stream .SHA256SUM,
	// Rocky .CHECKSUM. The value is the algorithm the suffix promises, or
	// "" when any is possible.
	perFileSuffixes = map[string]string{
		".md5": "md5", ".md5sum": "md5",
		".sha1": "sha1", ".sha1sum": "sha1",
		".sha256": "sha256", ".sha256sum": "sha256",
		".sha512": "sha512", ".sha512sum": "sha512",
		".checksum": "",
	}
)

// parseIndex reads a checksum index, unwrapping a PGP clear-signed message
// first. indexName is the index's file name, which names the image of a
// line that holds a digest alone. Lines it cannot read are skipped and
// counted; an index with no entry at all is an error.
func parseIndex(data []byte, indexName string) (*index, error) {
	if block, _ := clearsign.Decode(data); block != nil {
		data = block.Plaintext
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	idx := &index{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text()) // also drops the CR of CRLF
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if e, ok := parseLine(line, indexName); ok {
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

func parseLine(line, indexName string) (indexEntry, bool) {
	if m := bsdLine.FindStringSubmatch(line); m != nil {
		return newEntry(m[2], strings.ToLower(m[1]), m[3])
	}
	// coreutils starts a line with a backslash when the name has escaped
	// characters (a backslash, newline or carriage return).
	escaped := strings.HasPrefix(line, `\`)
	if escaped {
		line = line[1:]
	}
	if m := gnuLine.FindStringSubmatch(line); m != nil {
		name := m[3]
		if escaped {
			name = unescapeName(name)
		}
		return newEntry(strings.TrimPrefix(name, "./"), "", m[1])
	}
	if digestOnly.MatchString(line) {
		name, algo, ok := coveredFile(indexName)
		if !ok {
			return indexEntry{}, false
		}
		return newEntry(name, algo, line)
	}
	return indexEntry{}, false
}

// newEntry checks that the digest has the length of its algorithm (taken
// from the length when algo is empty).
func newEntry(name, algo, digest string) (indexEntry, bool) {
	byLength, known := algorithmByLength[len(digest)]
	if !known || (algo != "" && algo != byLength) {
		return indexEntry{}, false
	}
	return indexEntry{Name: name, Algorithm: byLength, Digest: strings.ToLower(digest)}, true
}

// coveredFile returns the file a per-file checksum index is named after,
// and the algorithm its suffix promises.
func coveredFile(indexName string) (string, string, bool) {
	ext := path.Ext(indexName)
	algo, ok := perFileSuffixes[strings.ToLower(ext)]
	name := strings.TrimSuffix(indexName, ext)
	if !ok || name == "" {
		return "", "", false
	}
	return name, algo, true
}

func unescapeName(name string) string {
	return strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r").Replace(name)
}
