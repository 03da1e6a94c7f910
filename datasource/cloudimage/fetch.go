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

func readLocal(path string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}

func (f fetcher) getHTTP(ctx context.Context, location string) ([]byte, string, error) {
	client := f.Client
	if client == nil {
		client = &http.Client{}
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
		return nil, "", true, fmt.Errorf("fetching %s: %w", location, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return nil, "", retry, fmt.Errorf("fetching %s: HTTP %s", location, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexSize+1))
	if err != nil {
		return nil, "", true, fmt.Errorf("reading %s: %w", location, err)
	}
	if len(body) > maxIndexSize {
		return nil, "", false, errors.New(location + " is larger than 16 MiB: is it a checksum index?")
	}
	return body, resp.Request.URL.String(), false, nil
}

// resolveURL makes the image's URL absolute against the index's.
func resolveURL(indexURL, name string) (string, error) {
	base, err := url.Parse(indexURL)
	if err != nil || base.Scheme == "" || len(base.Scheme) == 1 {
		// A local index: the image is a path beside it.
		return filepath.Join(filepath.Dir(indexURL), filepath.FromSlash(name)), nil
	}
	ref, err := url.Parse(strings.ReplaceAll(name, " ", "%20"))
	if err != nil {
		return "", fmt.Errorf("image name %q is not a valid URL path: %w", name, err)
	}
	return base.ResolveReference(ref).String(), nil
}

// indexFileName is the last element of an index's URL or path.
func indexFileName(location string) string {
	if u, err := url.Parse(location); err == nil && len(u.Scheme) > 1 {
		return path.Base(u.Path)
	}
	return filepath.Base(location)
}
