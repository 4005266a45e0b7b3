package main

// In-process tests of the command line: parsing, usage errors, help and
// suggestions, as tables with named rows, and the parser's fuzz target.

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// update rewrites the golden files under testdata/ from what the code prints.
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// env returns a getenv that reads the given NAME=value pairs.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// TestParse checks commands, aliases, option forms and positions, and precedence.
func TestParse(t *testing.T) {
	vars := env("LOCKPIPE_PATH=/env/p", "LOCKPIPE_MODE=0644", "LOCKPIPE_TIMEOUT=5")
	rows := []struct {
		name string
		args []string
		env  func(string) string
		cmd  string
		req  request
		exec []string
	}{
		{"env supplies all", []string{"read"}, vars, "read", request{path: "/env/p", mode: 0o644, timeout: 5 * time.Second}, nil},
		{"flags beat env", []string{"r", "-p", "/x", "-m=0600", "--timeout=1m"}, vars, "read", request{path: "/x", mode: 0o600, timeout: time.Minute}, nil},
		{"option before command", []string{"--path", "/x", "w", "-t", "0"}, vars, "write", request{path: "/x", mode: 0o644}, nil},
		{"variables only where they apply", []string{"exists"}, vars, "exists", request{path: "/env/p", mode: 0o600}, nil},
		{"default path", []string{"exists"}, env(), "exists", request{path: "/run/forever", mode: 0o600}, nil},
		{"empty variable is unset", []string{"e"}, env("LOCKPIPE_PATH="), "exists", request{path: "/run/forever", mode: 0o600}, nil},
		{"short with space", []string{"-p", "/f", "exists"}, env(), "exists", request{path: "/f", mode: 0o600}, nil},
		{"short with equals", []string{"exists", "-p=/f"}, env(), "exists", request{path: "/f", mode: 0o600}, nil},
		{"long with space", []string{"e", "--path", "/f"}, env(), "exists", request{path: "/f", mode: 0o600}, nil},
		{"long with equals", []string{"e", "--path=/f"}, env(), "exists", request{path: "/f", mode: 0o600}, nil},
		{"long with one dash", []string{"-path", "/f", "e"}, env(), "exists", request{path: "/f", mode: 0o600}, nil},
		{"last one wins", []string{"-p", "/nonexistent", "exists", "-p", "/f"}, env(), "exists", request{path: "/f", mode: 0o600}, nil},
		{"nowait", []string{"write", "-n"}, vars, "write", request{path: "/env/p", mode: 0o644, nowait: true}, nil},
		{"nowait ignores LOCKPIPE_TIMEOUT", []string{"write", "--nowait"}, vars, "write", request{path: "/env/p", mode: 0o644, nowait: true}, nil},
		{"if-exists", []string{"read", "--if-exists"}, env(), "read", request{path: "/run/forever", mode: 0o600, ifExists: true}, nil},
		{"cmd after dashes", []string{"read", "--", "/bin/echo", "-p", "x", "--timeout", "y"}, env(), "read", request{path: "/run/forever", mode: 0o600},
			[]string{"/bin/echo", "-p", "x", "--timeout", "y"}},
		{"cmd after dashes before command", []string{"w", "-n", "--", "app", "--"}, env(), "write", request{path: "/run/forever", mode: 0o600, nowait: true}, []string{"app", "--"}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			inv, err := parse(r.args, r.env)
			if err != nil {
				t.Fatalf("parse(%q): %v", r.args, err)
			}
			if inv.cmd.name != r.cmd || inv.req != r.req || strings.Join(inv.exec, "\x00") != strings.Join(r.exec, "\x00") {
				t.Errorf("parse(%q) = %s %+v %q; want %s %+v %q", r.args, inv.cmd.name, inv.req, inv.exec, r.cmd, r.req, r.exec)
			}
		})
	}
	inv, err := parse([]string{"install", "/shared"}, env())
	if err != nil || inv.cmd.name != "install" || inv.dir != "/shared" {
		t.Errorf("install: %+v, %v", inv, err)
	}
}

// TestUsageErrors checks that every bad command line or variable is a usage
// error (22) whose one line names the option, the variable or the argument.
func TestUsageErrors(t *testing.T) {
	rows := []struct {
		name string
		env  []string
		args []string
		want string // in the message
	}{
		{"no command", nil, nil, "no command given"},
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate"; run 'lockpipe help'`},
		{"misspelt command", nil, []string{"raed"}, `unknown command "raed"; did you mean read?`},
		{"misspelt delete", nil, []string{"delte"}, `did you mean delete?`},
		{"unknown option after", nil, []string{"exists", "--bogus"}, `unknown option "--bogus"; run 'lockpipe help'`},
		{"unknown option before", nil, []string{"-bogus", "exists"}, `unknown option "-bogus"`},
		{"misspelt option", nil, []string{"read", "--pth", "x"}, `unknown option "--pth"; did you mean --path?`},
		{"misspelt option with value", nil, []string{"read", "--timout=5"}, `unknown option "--timout"; did you mean --timeout?`},
		{"bad option syntax", nil, []string{"---p", "x", "exists"}, `unknown option "---p"`},
		{"missing value", nil, []string{"exists", "-p"}, `option "-p" needs a value`},
		{"value for a switch", nil, []string{"write", "--nowait=yes"}, `option "--nowait" takes no value`},
		{"value for help", nil, []string{"--help=read"}, `option "--help" takes no value`},
		{"value for version", nil, []string{"-V=1"}, `option "-V" takes no value`},
		{"help with three dashes", nil, []string{"---help"}, `unknown option "---help"; did you mean --help?`},
		{"bad mode", nil, []string{"create", "-m", "888"}, `invalid value "888" for -m: not an octal mode`},
		{"bad mode long", nil, []string{"create", "--mode=01777"}, `invalid value "01777" for --mode`},
		{"bad mode env", []string{"LOCKPIPE_MODE=rw"}, []string{"create"}, `invalid LOCKPIPE_MODE "rw"`},
		{"bad timeout", nil, []string{"read", "-t", "soon"}, `invalid value "soon" for -t`},
		{"bad timeout env", []string{"LOCKPIPE_TIMEOUT=-3"}, []string{"write"}, `invalid LOCKPIPE_TIMEOUT "-3"`},
		{"mode on exists", nil, []string{"exists", "-m", "0600"}, "option -m/--mode does not apply to exists"},
		{"mode on delete", nil, []string{"--mode", "0600", "delete"}, "option -m/--mode does not apply to delete"},
		{"timeout on create", nil, []string{"create", "--timeout", "5s"}, "option -t/--timeout does not apply to create"},
		{"timeout on exists", nil, []string{"-t", "5", "exists"}, "option -t/--timeout does not apply to exists"},
		{"timeout on delete", nil, []string{"delete", "-t", "5"}, "option -t/--timeout does not apply to delete"},
		{"path on version", nil, []string{"-p", "/p", "version"}, "option -p/--path does not apply to version"},
		{"extra argument", nil, []string{"exists", "-p", "/p", "extra"}, `unexpected argument "extra" after exists`},
		{"two help topics", nil, []string{"help", "read", "write"}, "help takes one command name at most"},
		{"empty path", nil, []string{"exists", "--path", ""}, `invalid value "" for --path: the path is empty`},
		{"blank path", nil, []string{"exists", "-p", "  "}, `invalid value "  " for -p: the path is empty`},
		{"blank path env", []string{"LOCKPIPE_PATH= \t"}, []string{"exists"}, `invalid LOCKPIPE_PATH " \t": the path is empty`},
		{"blank mode env", []string{"LOCKPIPE_MODE= "}, []string{"create"}, `invalid LOCKPIPE_MODE " "`},
		{"blank timeout env", []string{"LOCKPIPE_TIMEOUT= "}, []string{"read"}, `invalid LOCKPIPE_TIMEOUT " "`},
		{"nowait on read", nil, []string{"read", "-n"}, "option -n/--nowait does not apply to read"},
		{"nowait with timeout", nil, []string{"write", "-n", "-t", "5"}, "-t/--timeout does not apply"},
		{"if-exists on create", nil, []string{"create", "--if-exists"}, "option --if-exists does not apply to create"},
		{"if-exists on exists", nil, []string{"exists", "--if-exists"}, "option --if-exists does not apply to exists"},
		{"if-exists on delete", nil, []string{"delete", "--if-exists"}, "option --if-exists does not apply to delete"},
		{"dashes with nothing", nil, []string{"read", "--"}, "nothing to run after --"},
		{"dashes on create", nil, []string{"create", "--", "/bin/true"}, "applies only to read and write"},
		{"dashes on exists", nil, []string{"exists", "--", "/bin/true"}, "applies only to read and write"},
		{"dashes on delete", nil, []string{"d", "--", "-p"}, "applies only to read and write"},
		{"dashes on help", nil, []string{"help", "--", "x"}, "applies only to read and write"},
		{"dashes on version", nil, []string{"version", "--", "x"}, "applies only to read and write"},
		{"dashes with -V", nil, []string{"w", "-V", "--", ""}, "applies only to read and write"},
		{"dashes with -h", nil, []string{"read", "-h", "--", "x"}, "applies only to read and write"},
		{"install without dir", nil, []string{"install"}, "install takes one directory"},
		{"install with two", nil, []string{"install", "/a", "/b"}, "install takes one directory"},
		{"path on install", nil, []string{"install", "-p", "/p", "/a"}, "option -p/--path does not apply to install"},
		{"mode on install", nil, []string{"install", "/a", "-m", "0600"}, "option -m/--mode does not apply to install"},
		{"timeout on install", nil, []string{"install", "/a", "-t", "1"}, "option -t/--timeout does not apply to install"},
		{"control characters escaped", nil, []string{"exists", "--p\x1b[2J\u009b\u202e"}, `unknown option "--p\x1b[2J\u009b\u202e"`},
		{"control characters in a value", nil, []string{"create", "-m", "\u009b1m\u202e"}, `invalid value "\u009b1m\u202e" for -m`},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(r.args, env(r.env...), &out)
			if exitStatus(err) != statusUsage || err == nil || !strings.Contains(err.Error(), r.want) ||
				strings.ContainsAny(err.Error(), "\n\x1b\u009b\u202e") || out.Len() != 0 {
				t.Errorf("run(%q) = %v (status %d), stdout %q; want 22 and one line with %q", r.args, err, exitStatus(err), out.String(), r.want)
			}
		})
	}
	// A variable is not read by a command it does not apply to.
	for _, cmd := range []string{"exists", "delete", "create"} {
		if _, err := parse([]string{cmd}, env("LOCKPIPE_TIMEOUT=bad")); err != nil {
			t.Errorf("%s read LOCKPIPE_TIMEOUT: %v", cmd, err)
		}
	}
}

// TestSuggest checks when a close name is suggested, derived from the command table.
func TestSuggest(t *testing.T) {
	for _, c := range commands {
		if len(c.name) < 4 {
			continue
		}
		typo := c.name[1:2] + c.name[:1] + c.name[2:] // the first two letters swapped
		if got := suggest(typo, commandNames(), ""); got != "; did you mean "+c.name+"?" {
			t.Errorf("suggest(%q) = %q", typo, got)
		}
	}
	for typed, want := range map[string]string{"x": "", "frobnicate": "", "pth": "--path", "mdoe": "--mode", "nowiat": "--nowait", "if-exist": "--if-exists"} {
		got := suggest(typed, optionNames(), "--")
		if want == "" && got != "; run 'lockpipe help'" || want != "" && got != "; did you mean "+want+"?" {
			t.Errorf("suggest(%q) = %q, want %q", typed, got, want)
		}
	}
}

// TestHelp checks the help text against testdata/help.golden, and that it names every command and option.
func TestHelp(t *testing.T) {
	var all strings.Builder
	topics := []string{""}
	for _, c := range commands {
		topics = append(topics, c.name)
	}
	for _, topic := range topics {
		var out bytes.Buffer
		args := []string{"help"}
		if topic != "" {
			args = append(args, topic)
		}
		if err := run(args, env(), &out); err != nil {
			t.Fatalf("help %s: %v", topic, err)
		}
		all.WriteString("$ lockpipe " + strings.Join(args, " ") + "\n" + out.String() + "\n")
		if topic == "" {
			for _, c := range commands {
				if !strings.Contains(out.String(), "\n  "+c.name) {
					t.Errorf("overview lacks %s", c.name)
				}
			}
			for _, o := range options {
				if !strings.Contains(out.String(), "--"+o.long) {
					t.Errorf("overview lacks --%s", o.long)
				}
			}
		}
	}
	golden := filepath.Join("testdata", "help.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(all.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestHelp -update to create it)", err)
	}
	if all.String() != string(want) {
		t.Errorf("help differs from %s (go test -run TestHelp -update rewrites it):\n%s", golden, all.String())
	}
	// Every way of asking for help gives the same text.
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help", "r"}, {"read", "--help"}, {"-h", "r"}, {"r", "-h", "-p", "x"}} {
		inv, err := parse(args, env())
		if err != nil || inv.cmd.name != "help" {
			t.Errorf("%q: %+v, %v", args, inv, err)
		}
	}
	if _, err := helpText("nope"); exitStatus(err) != statusUsage {
		t.Errorf("help nope: %v", err)
	}
}

// TestSetMode checks which modes are accepted.
func TestSetMode(t *testing.T) {
	for in, want := range map[string]uint32{"0600": 0o600, "600": 0o600, "0": 0, "0777": 0o777, "00644": 0o644, "7": 7} {
		var r request
		if err := setMode(&r, in); err != nil || r.mode != want {
			t.Errorf("setMode(%q) = %#o, %v; want %#o", in, r.mode, err, want)
		}
	}
	for _, in := range []string{"", " ", "0o600", "0x1ff", "888", "1000", "01777", "-1", "+600", "6_00", "0600 ", "rw-------"} {
		if err := setMode(&request{}, in); err == nil {
			t.Errorf("setMode(%q) accepted", in)
		}
	}
}

// TestParseTimeout checks both duration syntaxes and what is rejected.
func TestParseTimeout(t *testing.T) {
	ok := map[string]time.Duration{
		"0": 0, "infinity": 0, "inf": 0, "0s": 0, "30": 30 * time.Second, "0.5": 500 * time.Millisecond,
		"500ms": 500 * time.Millisecond, "90s": 90 * time.Second, "1h30m": 90 * time.Minute, ".25": 250 * time.Millisecond,
		"3.": 3 * time.Second, "0.0000000001": 1, "0.000": 0, "1.5": 1500 * time.Millisecond, "2562047": 2562047 * time.Second,
	}
	for in, want := range ok {
		if got, err := parseTimeout(in); err != nil || got != want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", ".", "-1", "-1s", "1e3", "NaN", "Inf", "soon", "1d", "99999999999999999999", "1.2.3", "0x10", " 5", "9223372037", "5s5"} {
		if d, err := parseTimeout(in); err == nil {
			t.Errorf("parseTimeout(%q) = %v, accepted", in, d)
		}
	}
}

// FuzzParse checks that argument and environment parsing never panics and
// yields a command or a one-line usage error, whatever it is given.
func FuzzParse(f *testing.F) {
	seeds := [][2]string{
		{"read", ""}, {"write", ""}, {"create\x00-m\x000644", ""}, {"exists\x00--path=/run/x", ""},
		{"-p\x00/tmp/p\x00r", "0600"}, {"--path\x00/tmp/p\x00w\x00--timeout\x0090s", "1h30m"},
		{"d\x00-p=/tmp/p", ""}, {"help\x00read", ""}, {"--help", ""}, {"-V", ""}, {"version", ""},
		{"r\x00-t\x000.5", "infinity"}, {"c\x00--mode=0", "777"}, {"w\x00-t", ""}, {"", ""}, {"--\x00read", ""},
		{"exists\x00-m\x000600", ""}, {"read\x00extra", "-1"}, {"e\x00-p\x00", " "}, {"w\x00-n\x00--\x00/app", ""},
		{"install\x00/x", ""}, {"read\x00--if-exists\x00--\x00a\x00--", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, args, value string) {
		var argv []string
		if args != "" {
			argv = strings.Split(args, "\x00")
		}
		getenv := func(k string) string {
			if k == "LOCKPIPE_PATH" {
				return "/fuzz/" + value
			}
			return value
		}
		inv, err := parse(argv, getenv)
		switch {
		case err != nil:
			if exitStatus(err) != statusUsage || strings.Contains(err.Error(), "\n") {
				t.Fatalf("parse(%q, %q): error %v with status %d", argv, value, err, exitStatus(err))
			}
		case inv.cmd == nil:
			t.Fatalf("parse(%q, %q): no command and no error", argv, value)
		case inv.cmd.name == "help":
			if _, err := helpText(inv.topic); err != nil && exitStatus(err) != statusUsage {
				t.Fatalf("help %q: %v", inv.topic, err)
			}
		case strings.TrimSpace(inv.req.path) == "" || inv.req.mode > 0o777 || inv.req.timeout < 0:
			t.Fatalf("parse(%q, %q): invalid request %+v", argv, value, inv.req)
		case len(inv.exec) > 0 && inv.cmd.name != "read" && inv.cmd.name != "write":
			t.Fatalf("parse(%q, %q): CMD for %s", argv, value, inv.cmd.name)
		}
	})
}
