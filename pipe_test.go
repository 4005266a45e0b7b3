package main

// Unit tests of the pieces, and the fuzz test of argument parsing.

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSetMode checks which modes are accepted.
func TestSetMode(t *testing.T) {
	for in, want := range map[string]uint32{"0600": 0o600, "600": 0o600, "0": 0, "0777": 0o777, "00644": 0o644, "7": 7} {
		var c config
		if err := setMode(&c, in); err != nil || c.mode != want {
			t.Errorf("setMode(%q) = %#o, %v; want %#o", in, c.mode, err, want)
		}
	}
	for _, in := range []string{"", " ", "0o600", "0x1ff", "888", "1000", "01777", "-1", "+600", "6_00", "0600 ", "rw-------"} {
		if err := setMode(&config{}, in); err == nil {
			t.Errorf("setMode(%q) accepted", in)
		}
	}
}

// TestParseTimeout checks both duration syntaxes and what is rejected.
func TestParseTimeout(t *testing.T) {
	ok := map[string]time.Duration{
		"0": 0, "infinity": 0, "inf": 0, "0s": 0, "30": 30 * time.Second, "0.5": 500 * time.Millisecond,
		"500ms": 500 * time.Millisecond, "90s": 90 * time.Second, "1h30m": 90 * time.Minute, ".25": 250 * time.Millisecond,
		"3.": 3 * time.Second, "0.0000000001": 1,
	}
	for in, want := range ok {
		if got, err := parseTimeout(in); err != nil || got != want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", ".", "-1", "-1s", "1e3", "NaN", "Inf", "soon", "1d", "99999999999999999999", "1.2.3", "0x10", " 5"} {
		if d, err := parseTimeout(in); err == nil {
			t.Errorf("parseTimeout(%q) = %v, accepted", in, d)
		}
	}
}

// TestParseFilter checks levels, directives and the items ignored.
func TestParseFilter(t *testing.T) {
	cases := []struct {
		in   string
		want slog.Level
		bad  []string
	}{
		{"", slog.LevelInfo, nil},
		{"off", levelOff, nil},
		{"ERROR", slog.LevelError, nil},
		{"trace", levelTrace, nil},
		{"info,debug", slog.LevelDebug, nil},
		{"lockpipes=warn,trace", slog.LevelWarn, nil},
		{"lockpipes", levelTrace, nil},
		{"other=error", slog.LevelInfo, nil},
		{"a::b", slog.LevelInfo, nil},
		{" debug , ,", slog.LevelDebug, nil},
		{"verbose", slog.LevelInfo, []string{"verbose"}},
		{"x=y,debug,=info", slog.LevelDebug, []string{"x=y", "=info"}},
		{"lockpipes=", slog.LevelInfo, []string{"lockpipes="}},
	}
	for _, c := range cases {
		got, bad := parseFilter(c.in)
		if got != c.want || strings.Join(bad, "|") != strings.Join(c.bad, "|") {
			t.Errorf("parseFilter(%q) = %v, %q; want %v, %q", c.in, got, bad, c.want, c.bad)
		}
	}
}

// TestParse checks commands, option positions and environment precedence.
func TestParse(t *testing.T) {
	env := map[string]string{"LOCKPIPE_PATH": "/env/p", "LOCKPIPE_MODE": "0644", "LOCKPIPE_TIMEOUT": "5"}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		args []string
		cmd  string
		cfg  config
	}{
		{[]string{"read"}, "read", config{"/env/p", 0o644, 5 * time.Second}},
		{[]string{"r", "-p", "/x", "-m=0600", "--timeout=1m"}, "read", config{"/x", 0o600, time.Minute}},
		{[]string{"--path", "/x", "w", "-t", "0"}, "write", config{"/x", 0o644, 0}},
		{[]string{"exists"}, "exists", config{"/env/p", 0o600, 0}},
		{[]string{"d", "--", "-p"}, "", config{}}, // "-p" after -- is an argument: usage error
	}
	for _, c := range cases {
		inv, err := parse(c.args, getenv)
		if c.cmd == "" {
			if exitStatus(err) != statusUsage {
				t.Errorf("parse(%q): %v, want a usage error", c.args, err)
			}
			continue
		}
		if err != nil || inv.cmd.name != c.cmd || inv.cfg != c.cfg {
			t.Errorf("parse(%q) = %+v, %v; want %s %+v", c.args, inv, err, c.cmd, c.cfg)
		}
	}
	inv, err := parse([]string{"exists"}, func(string) string { return "" })
	if err != nil || inv.cfg.path != "/run/forever" {
		t.Errorf("default path: %+v, %v", inv, err)
	}
}

// TestExitStatus checks the mapping from errors to statuses and messages.
func TestExitStatus(t *testing.T) {
	cases := []struct {
		err  error
		want int
		msg  string
	}{
		{nil, 0, ""},
		{&failure{statusNoPipe, ""}, 1, ""},
		{notPipeError("/p", "a socket"), 17, `found a socket at "/p", not a named pipe; leaving it untouched`},
		{usageError("bad"), 22, "bad"},
		{sysError("create pipe at", "/a/b", syscall.ENOENT), 2, `cannot create pipe at "/a/b": no such file or directory (a directory on the path is missing)`},
		{sysError("check", "/p", syscall.EACCES), 13, `cannot check "/p": permission denied`},
		{sysError("check", "/f/p", syscall.ENOTDIR), 20, `cannot check "/f/p": not a directory`},
		{sysError("create pipe at", "/ro/p", syscall.EROFS), 30, `cannot create pipe at "/ro/p": read-only file system`},
		{sysError("check", "/l", syscall.ELOOP), 40, `cannot check "/l": too many levels of symbolic links`},
		{sysError("check", "/n", syscall.ENAMETOOLONG), 36, `cannot check "/n": file name too long`},
		{sysError("check", "/x", errors.New("odd")), 5, `cannot check "/x": odd`},
		{syscall.EPERM, 1, ""},
		{errors.New("other"), 5, ""},
	}
	for _, c := range cases {
		if got := exitStatus(c.err); got != c.want {
			t.Errorf("exitStatus(%v) = %d, want %d", c.err, got, c.want)
		}
		if f, ok := c.err.(*failure); ok && f.msg != c.msg {
			t.Errorf("message %q, want %q", f.msg, c.msg)
		}
	}
}

// TestPrimitives exercises the FIFO primitives on real files in this process.
func TestPrimitives(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pipe")
	if e, err := inspect(p); err != nil || e.exists || e.what != "" {
		t.Fatalf("inspect(missing) = %+v, %v", e, err)
	}
	if created, err := makePipe(p, 0o640); !created || err != nil {
		t.Fatalf("makePipe: %v, %v", created, err)
	}
	if created, err := makePipe(p, 0o600); created || err != nil {
		t.Fatalf("makePipe again: %v, %v", created, err)
	}
	if e, err := inspect(p); err != nil || !e.pipe || e.what != "a named pipe" {
		t.Fatalf("inspect(pipe) = %+v, %v", e, err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(p, link)
	if e, _ := inspect(link); !e.pipe || !e.link || e.what != "a symbolic link to a named pipe" {
		t.Errorf("inspect(link) = %+v", e)
	}
	if _, err := removePipe(link); exitStatus(err) != statusNotPipe || !isPipe(p) {
		t.Errorf("removePipe(link to pipe) = %v; the pipe and the link must stay", err)
	}
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nowhere"), dangling)
	if e, _ := inspect(dangling); e.exists || e.what != "a dangling symbolic link" {
		t.Errorf("inspect(dangling) = %+v", e)
	}
	if _, err := makePipe(dangling, 0o600); exitStatus(err) != statusNotPipe {
		t.Errorf("makePipe(dangling) = %v, want 17", err)
	}
	if removed, err := removePipe(p); !removed || err != nil {
		t.Errorf("removePipe = %v, %v", removed, err)
	}
	if removed, err := removePipe(p); removed || err != nil {
		t.Errorf("removePipe(missing) = %v, %v", removed, err)
	}
}

// FuzzParse checks that argument and environment parsing never panics and
// yields a command or a usage error, whatever it is given.
func FuzzParse(f *testing.F) {
	seeds := [][2]string{
		{"read", ""}, {"write", ""}, {"create\x00-m\x000644", ""}, {"exists\x00--path=/run/x", ""},
		{"-p\x00/tmp/p\x00r", "0600"}, {"--path\x00/tmp/p\x00w\x00--timeout\x0090s", "1h30m"},
		{"d\x00-p=/tmp/p", ""}, {"help\x00read", ""}, {"--help", ""}, {"-V", ""}, {"version", ""},
		{"r\x00-t\x000.5", "infinity"}, {"c\x00--mode=0", "777"}, {"w\x00-t", ""}, {"", ""}, {"--\x00read", ""},
		{"exists\x00-m\x000600", ""}, {"read\x00extra", "-1"}, {"e\x00-p\x00", " "},
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
		case inv.help:
			if _, err := helpText(inv.topic); err != nil && exitStatus(err) != statusUsage {
				t.Fatalf("help %q: %v", inv.topic, err)
			}
		case inv.version:
		case inv.cmd == nil:
			t.Fatalf("parse(%q, %q): no command and no error", argv, value)
		case strings.TrimSpace(inv.cfg.path) == "" || inv.cfg.mode > 0o777 || inv.cfg.timeout < 0:
			t.Fatalf("parse(%q, %q): invalid config %+v", argv, value, inv.cfg)
		}
	})
}
