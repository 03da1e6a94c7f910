// Package bootscript splits a boot command into the parts the SDK's
// boot-command syntax types (<enter>, <f10>, <wait5>...) and the waits for
// the guest's serial console this builder adds: <waitSerial 'REGEXP'> and
// <waitSerial 'REGEXP' DURATION>.
package bootscript

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// tokenName opens a wait; like the SDK's tokens its name is
// case-insensitive.
const tokenName = "<waitserial"

// Step is one part of a boot command: Keys for the SDK's boot-command
// machinery, or a Wait on the serial console (Wait != nil).
type Step struct {
	Keys string
	Wait *Wait
}

// Wait is a <waitSerial> token: wait until the serial console prints text
// matching Pattern, for Timeout (0: the build's default).
type Wait struct {
	Pattern *regexp.Regexp
	Timeout time.Duration
	// Token is the token as written, for messages.
	Token string
}

// Parse splits command into its steps. Text that is not a <waitSerial>
// token is passed on as it is: the SDK parses it.
func Parse(command string) ([]Step, error) {
	var steps []Step
	rest := command
	for {
		i := indexFold(rest, tokenName)
		if i < 0 {
			break
		}
		// "<waitSerialX" is some other token for the SDK to judge.
		after := rest[i+len(tokenName):]
		if after != "" && after[0] != ' ' && after[0] != '>' {
			steps, rest = appendKeys(steps, rest[:i+len(tokenName)]), after
			continue
		}
		wait, n, err := parseWait(rest[i:])
		if err != nil {
			return nil, err
		}
		steps = appendKeys(steps, rest[:i])
		steps = append(steps, Step{Wait: wait})
		rest = rest[i+n:]
	}
	return appendKeys(steps, rest), nil
}

// indexFold is strings.Index for an ASCII lower-case token, ignoring case,
// by byte offsets (strings.ToLower would change the length of invalid
// UTF-8).
func indexFold(s, token string) int {
	for i := 0; i+len(token) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(token)], token) {
			return i
		}
	}
	return -1
}

// appendKeys adds keys to the last step when that types keys too.
func appendKeys(steps []Step, keys string) []Step {
	if keys == "" {
		return steps
	}
	if n := len(steps); n > 0 && steps[n-1].Wait == nil {
		steps[n-1].Keys += keys
		return steps
	}
	return append(steps, Step{Keys: keys})
}

// usage is how a token is written, for errors.
const usage = "write <waitSerial 'REGEXP'> or <waitSerial 'REGEXP' 2m> (an RE2 regexp between single quotes, a quote in it as \\x27; an optional Go duration)"

// parseWait reads the token at the start of s ("<waitSerial ...>") and
// returns it and its length.
func parseWait(s string) (*Wait, int, error) {
	rest := strings.TrimLeft(s[len(tokenName):], " ")
	if !strings.HasPrefix(rest, "'") {
		return nil, 0, fmt.Errorf("boot_command: %s has no pattern: %s", quoteStart(s), usage)
	}
	end := strings.IndexByte(rest[1:], '\'')
	if end < 0 {
		return nil, 0, fmt.Errorf("boot_command: %s has no closing quote: %s", quoteStart(s), usage)
	}
	pattern := rest[1 : 1+end]
	after := rest[2+end:]
	closeAt := strings.IndexByte(after, '>')
	// A '<' before it starts the next token: this one did not end.
	if openAt := strings.IndexByte(after, '<'); closeAt < 0 || openAt >= 0 && openAt < closeAt {
		return nil, 0, fmt.Errorf("boot_command: %s has no closing '>': %s", quoteStart(s), usage)
	}
	n := len(s) - len(after) + closeAt + 1
	token := s[:n]
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, 0, fmt.Errorf("boot_command: %s: the pattern is not an RE2 regexp (%v): %s", token, err, usage)
	}
	if pattern == "" {
		return nil, 0, fmt.Errorf("boot_command: %s: the pattern is empty: %s", token, usage)
	}
	wait := &Wait{Pattern: re, Token: token}
	if timeout := strings.TrimSpace(after[:closeAt]); timeout != "" {
		d, err := time.ParseDuration(timeout)
		if err != nil || d <= 0 {
			return nil, 0, fmt.Errorf("boot_command: %s: %q is not a positive duration such as 2m or 90s: %s", token, timeout, usage)
		}
		wait.Timeout = d
	}
	return wait, n, nil
}

// quoteStart is the start of a token that does not end, for errors.
func quoteStart(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
