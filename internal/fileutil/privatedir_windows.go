package fileutil

import (
	"fmt"
	"os"
)

// PrivateDir creates dir in the user's profile, which only the user and
// administrators can write, and refuses a link in its place.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory (a link?): remove it", dir)
	}
	return nil
}
