package bootscript

import (
	"strings"
	"testing"
)

// Whatever Parse accepts, the keys and the tokens it returns are the
// command, in order.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"", "e<wait><f10>", "<waitSerial 'a'>b", "<waitserial 'x' 2m>", "<waitSerial '", "<waitSerial 'a' >x<waitSerial 'b(c'>"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, command string) {
		steps, err := Parse(command)
		if err != nil {
			if !strings.Contains(err.Error(), "boot_command") {
				t.Fatalf("error without the field: %v", err)
			}
			return
		}
		var b strings.Builder
		for _, s := range steps {
			if s.Wait != nil {
				if s.Wait.Pattern == nil || s.Wait.Timeout < 0 {
					t.Fatalf("a wait without a pattern: %+v", s.Wait)
				}
				b.WriteString(s.Wait.Token)
				continue
			}
			if s.Keys == "" {
				t.Fatal("an empty step")
			}
			b.WriteString(s.Keys)
		}
		if b.String() != command {
			t.Fatalf("%q parsed to %q", command, b.String())
		}
	})
}
