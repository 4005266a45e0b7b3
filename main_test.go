package main

// In-process tests of the command line: parsing, usage errors, help and
// suggestions, as tables with named rows, and the parser's fuzz target.

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
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
		{"env supplies all", []string{"read"}, vars, "read", request{paths: []string{"/env/p"}, mode: 0o644, timeout: 5 * time.Second}, nil},
		{"flags beat env", []string{"r", "-p", "/x", "-m=0600", "--timeout=1m"}, vars, "read", request{paths: []string{"/x"}, mode: 0o600, timeout: time.Minute}, nil},
		{"option before command", []string{"--path", "/x", "w", "-t", "0"}, vars, "write", request{paths: []string{"/x"}, mode: 0o644}, nil},
		{"variables only where they apply", []string{"exists"}, vars, "exists", request{paths: []string{"/env/p"}, mode: 0o600}, nil},
		{"default path", []string{"exists"}, env(), "exists", request{paths: []string{"/run/forever"}, mode: 0o600}, nil},
		{"empty variable is unset", []string{"e"}, env("LOCKPIPE_PATH="), "exists", request{paths: []string{"/run/forever"}, mode: 0o600}, nil},
		{"short with space", []string{"-p", "/f", "exists"}, env(), "exists", request{paths: []string{"/f"}, mode: 0o600}, nil},
		{"short with equals", []string{"exists", "-p=/f"}, env(), "exists", request{paths: []string{"/f"}, mode: 0o600}, nil},
		{"long with space", []string{"e", "--path", "/f"}, env(), "exists", request{paths: []string{"/f"}, mode: 0o600}, nil},
		{"long with equals", []string{"e", "--path=/f"}, env(), "exists", request{paths: []string{"/f"}, mode: 0o600}, nil},
		{"long with one dash", []string{"-path", "/f", "e"}, env(), "exists", request{paths: []string{"/f"}, mode: 0o600}, nil},
		{"several paths", []string{"-p", "/a", "exists", "-p", "/f"}, vars, "exists", request{paths: []string{"/a", "/f"}, mode: 0o600}, nil},
		{"nowait", []string{"write", "-n"}, vars, "write", request{paths: []string{"/env/p"}, mode: 0o644, nowait: true}, nil},
		{"nowait ignores LOCKPIPE_TIMEOUT", []string{"write", "--nowait"}, vars, "write", request{paths: []string{"/env/p"}, mode: 0o644, nowait: true}, nil},
		{"if-exists", []string{"read", "--if-exists"}, env(), "read", request{paths: []string{"/run/forever"}, mode: 0o600, ifExists: true}, nil},
		{"cmd after dashes", []string{"read", "--", "/bin/echo", "-p", "x", "--timeout", "y"}, env(), "read", request{paths: []string{"/run/forever"}, mode: 0o600},
			[]string{"/bin/echo", "-p", "x", "--timeout", "y"}},
		{"cmd after dashes before command", []string{"w", "-n", "--", "app", "--"}, env(), "write", request{paths: []string{"/run/forever"}, mode: 0o600, nowait: true}, []string{"app", "--"}},
		{"hold without CMD", []string{"hold", "-p", "/h"}, vars, "hold", request{paths: []string{"/h"}, mode: 0o644}, nil},
		{"run", []string{"run", "-t", "1m", "--", "proxy", "-v"}, vars, "run", request{paths: []string{"/env/p"}, mode: 0o644, timeout: time.Minute}, []string{"proxy", "-v"}},
		{"stdin", []string{"read", "--stdin", "--", "bc"}, env(), "read", request{paths: []string{"/run/forever"}, mode: 0o600, keep: true}, []string{"bc"}},
		{"stdout and stderr", []string{"write", "--stdout", "--stderr", "--", "echo"}, env(), "write", request{paths: []string{"/run/forever"}, mode: 0o600, keep: true}, []string{"echo"}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			inv, err := parse(r.args, r.env)
			if err != nil {
				t.Fatalf("parse(%q): %v", r.args, err)
			}
			if inv.cmd.name != r.cmd || !reflect.DeepEqual(inv.req, r.req) || strings.Join(inv.exec, "\x00") != strings.Join(r.exec, "\x00") {
				t.Errorf("parse(%q) = %s %+v %q; want %s %+v %q", r.args, inv.cmd.name, inv.req, inv.exec, r.cmd, r.req, r.exec)
			}
		})
	}
	inv, err := parse([]string{"install", "/shared"}, env())
	if err != nil || inv.cmd.name != "install" || inv.dir != "/shared" {
		t.Errorf("install: %+v, %v", inv, err)
	}
	for _, r := range []struct {
		name  string
		args  []string
		grace time.Duration
		stop  syscall.Signal
		stdio [3]bool
	}{
		{"run's defaults", []string{"run", "--", "x"}, 10 * time.Second, syscall.SIGTERM, [3]bool{}},
		{"grace and signal", []string{"run", "--grace=1.5", "--signal", "sigint", "--", "x"}, 1500 * time.Millisecond, syscall.SIGINT, [3]bool{}},
		{"no grace", []string{"run", "--grace", "0", "--signal", "KILL", "--", "x"}, 0, syscall.SIGKILL, [3]bool{}},
		{"grace for ever", []string{"run", "--grace", "inf", "--signal", "Usr1", "--", "x"}, math.MaxInt64, syscall.SIGUSR1, [3]bool{}},
		{"stdin", []string{"read", "--stdin", "--", "x"}, 10 * time.Second, syscall.SIGTERM, [3]bool{true, false, false}},
		{"stderr", []string{"write", "--stderr", "--", "x"}, 10 * time.Second, syscall.SIGTERM, [3]bool{false, false, true}},
	} {
		t.Run(r.name, func(t *testing.T) {
			inv, err := parse(r.args, env())
			if err != nil || inv.grace != r.grace || inv.stop != r.stop || inv.stdio != r.stdio {
				t.Errorf("parse(%q) = grace %v, signal %v, stdio %v, %v", r.args, inv.grace, inv.stop, inv.stdio, err)
			}
		})
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
		{"dashes on create", nil, []string{"create", "--", "/bin/true"}, "applies only to read, write, hold and run"},
		{"dashes on exists", nil, []string{"exists", "--", "/bin/true"}, "applies only to read, write, hold and run"},
		{"dashes on delete", nil, []string{"d", "--", "-p"}, "applies only to read, write, hold and run"},
		{"dashes on help", nil, []string{"help", "--", "x"}, "applies only to read, write, hold and run"},
		{"dashes on version", nil, []string{"version", "--", "x"}, "applies only to read, write, hold and run"},
		{"dashes with -V", nil, []string{"w", "-V", "--", ""}, "applies only to read, write, hold and run"},
		{"dashes with -h", nil, []string{"read", "-h", "--", "x"}, "applies only to read, write, hold and run"},
		{"install without dir", nil, []string{"install"}, "install takes one directory"},
		{"install with two", nil, []string{"install", "/a", "/b"}, "install takes one directory"},
		{"path on install", nil, []string{"install", "-p", "/p", "/a"}, "option -p/--path does not apply to install"},
		{"mode on install", nil, []string{"install", "/a", "-m", "0600"}, "option -m/--mode does not apply to install"},
		{"timeout on install", nil, []string{"install", "/a", "-t", "1"}, "option -t/--timeout does not apply to install"},
		{"command without dashes", nil, []string{"read", "-p", "x", "/app"}, `unexpected argument "/app" after read; to run it once released, put -- before it: lockpipe read ... -- /app`},
		{"command without dashes after hold", nil, []string{"hold", "-p", "x", "sleep", "1"}, `unexpected argument "sleep" after hold; to run it while the pipe is held, put -- before it: lockpipe hold ... -- sleep`},
		{"command without dashes after run", nil, []string{"run", "-p", "x", "proxy"}, `to run it until released, put -- before it: lockpipe run ... -- proxy`},
		{"a prefix of one option", nil, []string{"write", "--time", "1"}, `unknown option "--time"; did you mean --timeout?`},
		{"a short prefix of one option", nil, []string{"run", "--sig", "INT", "--", "x"}, `unknown option "--sig"; did you mean --signal?`},
		{"a prefix of one command", nil, []string{"del"}, `unknown command "del"; did you mean delete?`},
		{"not the opposite", nil, []string{"write", "--wait"}, `unknown option "--wait"; run 'lockpipe help'`},
		{"a prefix of several options", nil, []string{"write", "--std", "--", "x"}, `unknown option "--std"; run 'lockpipe help'`},
		{"several paths for --stdin", nil, []string{"read", "--stdin", "-p", "a", "-p", "b", "--", "cat"}, "option --stdin connects one pipe to CMD, and -p/--path names 2"},
		{"--any with one path", nil, []string{"read", "--any"}, "option --any chooses among several pipes, and -p/--path names one"},
		{"status on write", nil, []string{"write", "--status"}, "option --status does not apply to write"},
		{"run without CMD", nil, []string{"run", "-p", "x"}, "run needs a command to run"},
		{"grace outside run", nil, []string{"read", "--grace", "5s"}, "option --grace does not apply to read"},
		{"signal outside run", nil, []string{"hold", "--signal", "INT"}, "option --signal does not apply to hold"},
		{"bad signal", nil, []string{"run", "--signal", "STOP", "--", "x"}, `invalid value "STOP" for --signal: not TERM, INT, HUP, QUIT, USR1, USR2 or KILL`},
		{"a signal name outside ASCII", nil, []string{"run", "--signal", "\u017figterm", "--", "x"}, "invalid value \"\u017figterm\" for --signal: not TERM, INT, HUP, QUIT, USR1, USR2 or KILL"},
		{"SIG twice", nil, []string{"run", "--signal", "SIGSIGTERM", "--", "x"}, `invalid value "SIGSIGTERM" for --signal`},
		{"bad grace", nil, []string{"run", "--grace", "soon", "--", "x"}, `invalid value "soon" for --grace`},
		{"timeout on hold", nil, []string{"hold", "-t", "5"}, "option -t/--timeout does not apply to hold"},
		{"nowait on hold", nil, []string{"hold", "-n"}, "option -n/--nowait does not apply to hold"},
		{"if-exists on hold", nil, []string{"hold", "--if-exists"}, "option --if-exists does not apply to hold"},
		{"nowait on run", nil, []string{"run", "-n", "--", "x"}, "option -n/--nowait does not apply to run"},
		{"if-exists on run", nil, []string{"run", "--if-exists", "--", "x"}, "option --if-exists does not apply to run"},
		{"stdin without CMD", nil, []string{"read", "--stdin"}, "option --stdin connects the pipe to CMD, and no CMD is given after --"},
		{"stdout without CMD", nil, []string{"write", "--stdout"}, "option --stdout connects the pipe to CMD"},
		{"stdin on write", nil, []string{"write", "--stdin", "--", "x"}, "option --stdin does not apply to write"},
		{"stdout on read", nil, []string{"read", "--stdout", "--", "x"}, "option --stdout does not apply to read"},
		{"stderr on read", nil, []string{"read", "--stderr", "--", "x"}, "option --stderr does not apply to read"},
		{"stdin on hold", nil, []string{"hold", "--stdin", "--", "x"}, "option --stdin does not apply to hold"},
		{"stdout on run", nil, []string{"run", "--stdout", "--", "x"}, "option --stdout does not apply to run"},
		{"stdin on create", nil, []string{"create", "--stdin"}, "option --stdin does not apply to create"},
		{"stdin with if-exists", nil, []string{"read", "--stdin", "--if-exists", "--", "x"}, "option --stdin with --if-exists"},
		{"stderr with if-exists", nil, []string{"write", "--if-exists", "--stderr", "--", "x"}, "option --stderr with --if-exists"},
		{"timeout out of range", nil, []string{"read", "-t", "9999999999"}, `invalid value "9999999999" for -t: out of range`},
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
	overview, _ := helpText("")
	readHelp, _ := helpText("read")
	for _, r := range []struct {
		args []string
		want string
	}{{[]string{"-h"}, overview}, {[]string{"--help"}, overview}, {[]string{"-help"}, overview}, {[]string{"help", "r"}, readHelp},
		{[]string{"read", "--help"}, readHelp}, {[]string{"-h", "r"}, readHelp}, {[]string{"r", "-h", "-p", "x"}, readHelp}} {
		var out bytes.Buffer
		if err := run(r.args, env(), &out); err != nil || out.String() != r.want {
			t.Errorf("%q: %v, printed:\n%s", r.args, err, out.String())
		}
	}
	if _, err := helpText("nope"); exitStatus(err) != statusUsage {
		t.Errorf("help nope: %v", err)
	}
}

// TestSetMode checks which modes are accepted.
func TestSetMode(t *testing.T) {
	for in, want := range map[string]uint32{"0600": 0o600, "600": 0o600, "0": 0, "0777": 0o777, "00644": 0o644, "7": 7} {
		var inv invocation
		if err := setMode(&inv, in); err != nil || inv.req.mode != want {
			t.Errorf("setMode(%q) = %#o, %v; want %#o", in, inv.req.mode, err, want)
		}
	}
	for _, in := range []string{"", " ", "0o600", "0x1ff", "888", "1000", "01777", "-1", "+600", "6_00", "0600 ", "rw-------"} {
		if err := setMode(&invocation{}, in); err == nil {
			t.Errorf("setMode(%q) accepted", in)
		}
	}
}

// TestParseDuration checks every form of --timeout: sleep's and Go's, and what is rejected.
func TestParseDuration(t *testing.T) {
	ok := map[string]time.Duration{
		"0": 0, "infinity": 0, "inf": 0, "INF": 0, "Infinity": 0, "0s": 0, "30": 30 * time.Second, "0.5": 500 * time.Millisecond,
		"500ms": 500 * time.Millisecond, "90s": 90 * time.Second, "1h30m": 90 * time.Minute, ".25": 250 * time.Millisecond,
		"3.": 3 * time.Second, "0.0000000001": 1, "0.000": 0, "1.5": 1500 * time.Millisecond, "2562047": 2562047 * time.Second,
		"1d": 24 * time.Hour, "1.5d": 36 * time.Hour, "2m": 2 * time.Minute, "0.5h": 30 * time.Minute, "10s": 10 * time.Second,
		"300us": 300 * time.Microsecond, "1.5h": 90 * time.Minute, "1h0.5m": time.Hour + 30*time.Second,
	}
	for in, want := range ok {
		if got, err := parseDuration(in, 0); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, says := range map[string]string{"": "not a duration", " ": "not a duration", ".": "not a duration", "-1": "not a duration",
		"-1s": "not a duration", "1e3": "not a duration", "NaN": "not a duration", "soon": "not a duration", "1.2.3": "not a duration",
		"0x10": "not a duration", " 5": "not a duration", "5s5": "not a duration", "1dd": "not a duration", "d": "not a duration",
		"99999999999999999999": "out of range", "9999999999": "out of range", "9223372037": "out of range", "106752d": "out of range",
		"2562048h": "out of range"} {
		if d, err := parseDuration(in, 0); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("parseDuration(%q) = %v, %v; want an error saying %q", in, d, err, says)
		}
	}
	if d, _ := parseDuration("inf", math.MaxInt64); d != math.MaxInt64 {
		t.Errorf("inf for --grace = %v", d)
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
		{"install\x00/x", ""}, {"read\x00--if-exists\x00--\x00a\x00--", ""}, {"hold\x00--\x00app", ""},
		{"run\x00--grace\x005\x00--signal\x00int\x00--\x00proxy", ""}, {"read\x00--stdin\x00--\x00bc", ""}, {"write\x00--stdout\x00--stderr", ""},
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
		case len(inv.req.paths) == 0 || slices.ContainsFunc(inv.req.paths, func(p string) bool { return strings.TrimSpace(p) == "" }) ||
			inv.req.mode > 0o777 || inv.req.timeout < 0:
			t.Fatalf("parse(%q, %q): invalid request %+v", argv, value, inv.req)
		case len(inv.exec) > 0 && inv.cmd.withCmd == "", inv.cmd.name == "run" && len(inv.exec) == 0, inv.req.keep && len(inv.exec) == 0,
			inv.req.keep && len(inv.req.paths) > 1:
			t.Fatalf("parse(%q, %q): CMD for %s", argv, value, inv.cmd.name)
		}
	})
}

// TestOneInit checks that main.go's init, which runs read and write and never
// returns, is the package's only init function: one in another file would
// never run for them.
func TestOneInit(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var inits []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(l, "func init()") {
				inits = append(inits, f)
			}
		}
	}
	if !slices.Equal(inits, []string{"main.go"}) {
		t.Errorf("init functions in %q, want only main.go's", inits)
	}
}

// TestStartsFromInit checks which command lines init runs: read and write,
// wherever their options are, and nothing else.
func TestStartsFromInit(t *testing.T) {
	for _, r := range []struct {
		name string
		args []string
		want bool
	}{
		{"read first", []string{"lockpipe", "read", "-p", "P"}, true},
		{"write first", []string{"lockpipe", "write"}, true},
		{"an option and its value first", []string{"lockpipe", "-p", "P", "read"}, true},
		{"a long option with its value first", []string{"lockpipe", "--path=P", "write"}, true},
		{"a switch first", []string{"lockpipe", "-n", "write"}, true},
		{"a value named like a command", []string{"lockpipe", "-p", "read", "hold", "--", "x"}, false},
		{"a value named like another command", []string{"lockpipe", "--path", "hold", "read"}, true},
		{"hold", []string{"lockpipe", "hold", "--", "read"}, false},
		{"run", []string{"lockpipe", "-p", "P", "run", "--", "read"}, false},
		{"no command", []string{"lockpipe", "-p", "P"}, false},
		{"a word that is not a command", []string{"lockpipe", "x", "read"}, false},
		{"the test binary's flags", []string{"lockpipe.test", "-test.run=X", "read"}, false},
		{"after --", []string{"lockpipe", "--", "read"}, false},
		{"nothing", []string{"lockpipe"}, false},
	} {
		t.Run(r.name, func(t *testing.T) {
			if got := startsFromInit(r.args); got != r.want {
				t.Errorf("startsFromInit(%q) = %v, want %v", r.args, got, r.want)
			}
		})
	}
}

// TestLookupEnv checks how a variable is found in a list of KEY=value.
func TestLookupEnv(t *testing.T) {
	list := []string{"LOCKPIPE_PATHS=/no", "LOCKPIPE=/no", "NOEQUALS", "LOCKPIPE_PATH=/a=b", "LOCKPIPE_PATH=/second", "EMPTY=", "=/no"}
	for _, r := range []struct{ name, key, want string }{
		{"a key that begins another is not it", "LOCKPIPE_PATH", "/a=b"},
		{"the first of several wins, = in its value kept", "LOCKPIPE_PATH", "/a=b"},
		{"a prefix of a key is not it", "LOCKPIPE_PAT", ""},
		{"a word without = is no variable", "NOEQUALS", ""},
		{"an empty value", "EMPTY", ""},
		{"unset", "LOCKPIPE_MODE", ""},
		{"an empty key", "", ""},
	} {
		t.Run(r.name, func(t *testing.T) {
			if got := lookupEnv(list, r.key); got != r.want {
				t.Errorf("lookupEnv(%q) = %q, want %q", r.key, got, r.want)
			}
		})
	}
}

// TestGetenv checks that getenv, which reads the list the process began
// with, agrees with os.Getenv on every variable of this test's environment.
func TestGetenv(t *testing.T) {
	if len(os.Environ()) == 0 {
		t.Fatal("no environment to compare")
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if got, want := getenv(k), os.Getenv(k); got != want {
			t.Errorf("getenv(%q) = %q, os.Getenv: %q", k, got, want)
		}
	}
}
