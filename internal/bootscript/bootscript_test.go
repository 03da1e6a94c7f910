package bootscript

import (
	"strings"
	"testing"
	"time"
)

func TestParse_splitsKeysAndWaits(t *testing.T) {
	steps, err := Parse("<waitSerial 'Install Debian'>e<WAITSERIAL 'setparams \\x27'   90s><down><end> url=x<f10><waitSerial 'boot:'>")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 5 {
		t.Fatalf("got %d steps: %+v", len(steps), steps)
	}
	if steps[0].Wait == nil || steps[0].Wait.Pattern.String() != "Install Debian" || steps[0].Wait.Timeout != 0 {
		t.Errorf("step 0: %+v", steps[0])
	}
	if steps[1].Keys != "e" {
		t.Errorf("step 1: %+v", steps[1])
	}
	w := steps[2].Wait
	if w == nil || !w.Pattern.MatchString("setparams 'Install'") || w.Timeout != 90*time.Second || w.Token != "<WAITSERIAL 'setparams \\x27'   90s>" {
		t.Errorf("step 2: %+v", steps[2])
	}
	if steps[3].Keys != "<down><end> url=x<f10>" || steps[4].Wait == nil {
		t.Errorf("steps 3, 4: %+v %+v", steps[3], steps[4])
	}
}

func TestParse_leavesTheSDKSyntaxAlone(t *testing.T) {
	for _, command := range []string{"", "e<wait><down><f10>", "<waitSerialX>", "<wait5s>abc<waitserialized>"} {
		steps, err := Parse(command)
		if err != nil {
			t.Fatalf("%q: %v", command, err)
		}
		var keys string
		for _, s := range steps {
			if s.Wait != nil {
				t.Fatalf("%q: a wait: %+v", command, s)
			}
			keys += s.Keys
		}
		if keys != command || len(steps) > 1 {
			t.Errorf("%q became %+v", command, steps)
		}
	}
}

func TestParse_namesTheTokenAndTheFix(t *testing.T) {
	for command, want := range map[string]string{
		"<waitSerial>":              "has no pattern",
		"<waitSerial 'login:>":      "has no closing quote",
		"<waitSerial 'login:' 2m":   "has no closing '>'",
		"<waitSerial 'a(' >":        "<waitSerial 'a(' >: the pattern is not an RE2 regexp",
		"<waitSerial 'a' soon>":     `"soon" is not a positive duration`,
		"<waitSerial 'a' -1s>":      `"-1s" is not a positive duration`,
		"<waitSerial 'a' 2m<enter>": "has no closing '>'",
		"<waitSerial ''>":           "the pattern is empty",
	} {
		_, err := Parse(command)
		if err == nil {
			t.Errorf("%q: no error", command)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "boot_command") || !strings.Contains(err.Error(), "<waitSerial 'REGEXP'>") {
			t.Errorf("%q: %v", command, err)
		}
	}
}
