package cloudimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/version"
)

// maxIndexSize bounds what is read from an index or signature URL: indexes
// are kilobytes; a URL that serves an image by mistake is cut short.
const maxIndexSize = 16 << 20

// fetcher reads small documents from http(s), file:// URLs and paths.
type fetcher struct {
	Timeout time.Duration
	Retries int
	Client  *http.Client
	// Backoff is the pause before the first retry; it doubles each time.
	Backoff time.Duration
}

// Get returns the document and where it was finally found (after any
// HTTP redirects), which relative names in it are resolved against.
func (f fetcher) Get(ctx context.Context, location string) ([]byte, string, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // a bare or Windows-style path
		data, err := readLocal(location)
		return data, location, err
	}
	switch u.Scheme {
	case "file":
		data, err := readLocal(u.Path)
		return data, location, err
	case "http", "https":
		return f.getHTTP(ctx, location)
	}
	return nil, "", fmt.Errorf("%s: unsupported scheme %q: use https://, http://, file:// or a path", location, u.Scheme)
}

// readLocal reads a local index with the same size cap as over HTTP, so
// that a path to an image by mistake fails fast with a clear message.
func readLocal(path string) ([]byte, error) {
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	return readCapped(f, path)
}

// readCapped reads at most maxIndexSize bytes and fails beyond.
func readCapped(r io.Reader, location string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxIndexSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", location, err)
	}
	if len(data) > maxIndexSize {
		return nil, errTooLarge{location}
	}
	return data, nil
}

type errTooLarge struct{ location string }

func (e errTooLarge) Error() string {
	return e.location + " is larger than 16 MiB: is it a checksum index?"
}

// errRedirectScheme stops a redirect to anything but http(s); it is final,
// not worth a retry.
var errRedirectScheme = errors.New("redirected to an unsupported scheme")

// checkRedirect refuses redirects to other schemes (the client would fail
// on them anyway, with an error that looks transient) and keeps net/http's
// limit of 10 redirects.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w %q (%s): only http:// and https:// redirects are followed", errRedirectScheme, req.URL.Scheme, req.URL.Redacted())
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

func (f fetcher) getHTTP(ctx context.Context, location string) ([]byte, string, error) {
	client := &http.Client{}
	if f.Client != nil {
		copied := *f.Client
		client = &copied
	}
	if client.CheckRedirect == nil {
		client.CheckRedirect = checkRedirect
	}
	backoff := f.Backoff
	if backoff == 0 {
		backoff = time.Second
	}
	var lastErr error
	for attempt := 0; attempt <= f.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, "", ctx.Err()
			case <-time.After(backoff):
				backoff *= 2
			}
		}
		body, final, retry, err := f.once(ctx, client, location)
		if err == nil {
			return body, final, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return nil, "", lastErr
}

// once makes one request; retry says whether another try may succeed.
func (f fetcher) once(ctx context.Context, client *http.Client, location string) ([]byte, string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, "", false, err
	}
	req.Header.Set("User-Agent", "packer-plugin-kvm/"+version.PluginVersion.FormattedVersion()+" (kvm-cloudimage data source)")
	resp, err := client.Do(req)
	if err != nil {
		retry := !errors.Is(err, errRedirectScheme)
		return nil, "", retry, fmt.Errorf("fetching %s: %w", location, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return nil, "", retry, fmt.Errorf("fetching %s: HTTP %s", location, resp.Status)
	}
	body, err := readCapped(resp.Body, location)
	if err != nil {
		var tooLarge errTooLarge
		return nil, "", !errors.As(err, &tooLarge), err
	}
	return body, resp.Request.URL.String(), false, nil
}

// resolveURL makes the image's URL absolute against the index's. A name
// that leads out of the index's directory (`../x`, `/x`, a URL to another
// host or scheme) is refused unless allowForeign: the index decides what
// the build downloads, and a careless or tampered one must not send it
// elsewhere unnoticed.
func resolveURL(indexURL, name string, allowForeign bool) (string, error) {
	base, err := url.Parse(indexURL)
	if err != nil || base.Scheme == "" || len(base.Scheme) == 1 {
		return resolvePath(indexURL, name, allowForeign)
	}
	ref := &url.URL{Path: name} // escapes spaces, '?', '#' and '%' in file names
	if abs, ok := absoluteURL(name); ok {
		ref = abs
	}
	resolved := base.ResolveReference(ref)
	if !allowForeign && !sameDirectory(base, resolved) {
		return "", foreignError(name, indexURL)
	}
	return checkImageScheme(resolved, indexURL, name)
}

// checkImageScheme admits the schemes the kvm builder downloads from.
func checkImageScheme(u *url.URL, index, name string) (string, error) {
	if s := u.Scheme; s != "http" && s != "https" && s != "file" {
		return "", fmt.Errorf("the index %s lists %q, with the unsupported scheme %q", index, name, s)
	}
	return u.String(), nil
}

// resolvePath resolves a name listed in a local index to a path beside it.
func resolvePath(indexPath, name string, allowForeign bool) (string, error) {
	if abs, ok := absoluteURL(name); ok {
		if !allowForeign {
			return "", foreignError(name, indexPath)
		}
		return checkImageScheme(abs, indexPath, name)
	}
	if filepath.IsAbs(name) {
		if !allowForeign {
			return "", foreignError(name, indexPath)
		}
		return filepath.Clean(name), nil
	}
	dir := filepath.Dir(indexPath)
	joined := filepath.Join(dir, filepath.FromSlash(name))
	rel, err := filepath.Rel(dir, joined)
	outside := err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
	if outside && !allowForeign {
		return "", foreignError(name, indexPath)
	}
	return joined, nil
}

// absoluteURL parses a name that is a URL with a scheme or a host.
func absoluteURL(name string) (*url.URL, bool) {
	u, err := url.Parse(name)
	if err != nil || (len(u.Scheme) < 2 && u.Host == "") {
		return nil, false
	}
	return u, true
}

// sameDirectory reports whether target is on base's scheme and host, in
// base's directory or below it.
func sameDirectory(base, target *url.URL) bool {
	if !strings.EqualFold(base.Scheme, target.Scheme) || !strings.EqualFold(base.Host, target.Host) || target.User != nil {
		return false
	}
	dir := strings.TrimSuffix(path.Dir(base.Path), "/") + "/"
	return strings.HasPrefix(path.Clean(target.Path), dir)
}

func foreignError(name, index string) error {
	return fmt.Errorf("the index %s lists %q, which leads outside the index's directory (another directory, host or scheme); "+
		"set allow_foreign_urls = true if you trust the index to point there", index, name)
}

// indexFileName is the last element of an index's URL or path.
func indexFileName(location string) string {
	if u, err := url.Parse(location); err == nil && len(u.Scheme) > 1 {
		return path.Base(u.Path)
	}
	return filepath.Base(location)
}
