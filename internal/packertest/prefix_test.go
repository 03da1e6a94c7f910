package packertest

import (
	"reflect"
	"testing"
)

func TestWithPrefixRunsPackerThroughTheCommand(t *testing.T) {
	env := &Env{Packer: "/tools/packer", PluginDir: "/p", CacheDir: "/c"}
	prefixed := env.WithPrefix("ip", "netns", "exec", "ns1")
	cmd := prefixed.Command("/dir", "build", ".")
	want := []string{"ip", "netns", "exec", "ns1", "/tools/packer", "build", "."}
	if !reflect.DeepEqual(cmd.Args, want) || cmd.Dir != "/dir" {
		t.Fatalf("args %q in %s, want %q", cmd.Args, cmd.Dir, want)
	}
	// A second command does not see the first one's arguments.
	if again := prefixed.Command("/dir", "validate", "."); !reflect.DeepEqual(again.Args, []string{"ip", "netns", "exec", "ns1", "/tools/packer", "validate", "."}) {
		t.Fatalf("second command: %q", again.Args)
	}
	if plain := env.Command("/dir", "version"); !reflect.DeepEqual(plain.Args, []string{"/tools/packer", "version"}) {
		t.Fatalf("the original environment changed: %q", plain.Args)
	}
}
