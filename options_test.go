package main

// Options and logging, end to end: variables, the log's filter and colour
// (on a real terminal too), help and version on standard output, usage errors.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestLogStyle checks colour on and off, including on a real terminal.
func TestLogStyle(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	lockpipe(t, nil, "create", "-p", p)
	plain := line("INFO", "pipe exists at", p)
	colour := "[\x1b[32mINFO \x1b[0m lockpipes] pipe exists at " + strconv.Quote(p) + "\n"
	for style, want := range map[string]string{
		"":       plain,
		"auto":   plain,
		"never":  plain,
		"always": colour,
		"ALWAYS": colour,
		" Never": plain,
		"loud":   "[WARN  lockpipes] ignoring LOCKPIPE_LOG_STYLE \"loud\": not auto, always or never\n" + plain,
	} {
		if _, _, stderr := lockpipe(t, []string{"LOCKPIPE_LOG_STYLE=" + style}, "exists", "-p", p); stderr != want {
			t.Errorf("LOCKPIPE_LOG_STYLE=%q: stderr %q, want %q", style, stderr, want)
		}
	}
	_, _, stderr := lockpipe(t, []string{"LOCKPIPE_LOG_STYLE=always", "LOCKPIPE_LOG_FILTER=trace"}, "create", "-p", p)
	for _, code := range []string{"\x1b[36mTRACE", "\x1b[34mDEBUG", "\x1b[33mWARN "} {
		if !strings.Contains(stderr, code) {
			t.Errorf("no %q in %q", code, stderr)
		}
	}
	// auto: colour on a terminal, unless TERM=dumb or NO_COLOR is set.
	for env, want := range map[string]string{"TERM=xterm": colour, "TERM=dumb": plain, "NO_COLOR=1": plain, "NO_COLOR=": colour} {
		if got := onTerminal(t, []string{env}, "exists", "-p", p); got != want {
			t.Errorf("on a terminal with %s: %q, want %q", env, got, want)
		}
	}
}

// onTerminal runs lockpipe with standard error on a pseudo-terminal and returns what it wrote there.
func onTerminal(t *testing.T, env []string, args ...string) string {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer ptmx.Close()
	var n, unlock uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlockpt: %v", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("ptsname: %v", e)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	c := newChild(append([]string{"TERM=xterm"}, env...), append([]string{bin}, args...)...)
	c.cmd.Stderr = pts
	c.start(t)
	c.status(t)
	pts.Close()
	var out []byte
	buf := make([]byte, 4096)
	for {
		k, err := ptmx.Read(buf)
		out = append(out, buf[:k]...)
		if err != nil || bytes.HasSuffix(out, []byte("\n")) {
			break
		}
	}
	// The terminal turns "\n" into "\r\n".
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// TestHelpAndVersion checks that help and version reach standard output, and a failed write of them is its errno.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"read", "--help"}} {
		st, stdout, stderr := lockpipe(t, nil, args...)
		want, _ := helpText(map[bool]string{true: "read"}[len(args) == 2])
		if st != 0 || stderr != "" || stdout != want {
			t.Errorf("%v: status %d, stderr %q, stdout %q", args, st, stderr, stdout)
		}
	}
	for _, args := range [][]string{{"version"}, {"-V"}, {"--version"}, {"exists", "-V"}} {
		st, stdout, stderr := lockpipe(t, nil, args...)
		if st != 0 || stderr != "" || !strings.HasPrefix(stdout, "lockpipe ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%v: status %d, stdout %q, stderr %q", args, st, stdout, stderr)
		}
	}
	for _, args := range [][]string{{"version"}, {"help"}, {"help", "write"}} {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Skipf("no /dev/full: %v", err)
		}
		c := newChild(nil, append([]string{bin}, args...)...)
		c.cmd.Stdout = full
		st := c.start(t).status(t)
		full.Close()
		if want := "[ERROR lockpipes] cannot write to standard output: no space left on device\n"; st != 28 || c.stderr.String() != want {
			t.Errorf("%v >/dev/full: status %d, stderr %q", args, st, c.stderr.String())
		}
	}
	stamped := filepath.Join(t.TempDir(), "lockpipe")
	if out, err := goBuild(stamped, nil, "-ldflags=-X main.version=v9.8.7"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := exec.Command(stamped, "--version").Output(); err != nil || string(out) != "lockpipe v9.8.7\n" {
		t.Errorf("-X main.version: %q, %v", out, err)
	}
}

// TestUsageErrorLine checks the wiring of a usage error: status 22, one ERROR
// line on standard error, nothing on standard output, nothing touched.
func TestUsageErrorLine(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	for _, args := range [][]string{{"raed", "-p", p}, {"read", "--pth", p}, {"exists", "-m", "0600", "-p", p}} {
		st, stdout, stderr := lockpipe(t, nil, args...)
		err := run(args, func(string) string { return "" }, io.Discard)
		if st != 22 || stdout != "" || stderr != "[ERROR lockpipes] "+err.Error()+"\n" {
			t.Errorf("%q: status %d, stdout %q, stderr %q", args, st, stdout, stderr)
		}
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Error("a usage error touched the path")
	}
	// The filter is about the run; a usage error is about the command line, and always says why.
	st, _, stderr := lockpipe(t, []string{"LOCKPIPE_LOG_FILTER=off"}, "raed")
	if st != 22 || stderr != "[ERROR lockpipes] unknown command \"raed\"; did you mean read?\n" {
		t.Errorf("usage error with the log off: status %d, stderr %q", st, stderr)
	}
}

// TestVariables checks that the variables reach lockpipe: the path, and the log filter.
func TestVariables(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	lockpipe(t, nil, "create", "-p", p)
	if st, _, stderr := lockpipe(t, []string{"LOCKPIPE_PATH=" + p}, "exists"); st != 0 || stderr != line("INFO", "pipe exists at", p) {
		t.Errorf("LOCKPIPE_PATH: %d %q", st, stderr)
	}
	trace := fmt.Sprintf("[TRACE lockpipes] command exists, path %q, mode 0600, timeout 0s\n", p)
	debug := line("DEBUG", "checking if pipe exists at", p)
	info := line("INFO", "pipe exists at", p)
	bad := "[WARN  lockpipes] ignoring \"debgu\" in LOCKPIPE_LOG_FILTER: not off, error, warn, info, debug, trace or lockpipe=LEVEL\n"
	for filter, want := range map[string]string{"": info, "off": "", "lockpipes": trace + debug + info, "debgu": bad + info, "=debug,error": ""} {
		if st, _, stderr := lockpipe(t, []string{"LOCKPIPE_LOG_FILTER=" + filter}, "exists", "-p", p); st != 0 || stderr != want {
			t.Errorf("LOCKPIPE_LOG_FILTER=%q: status %d, stderr:\n%s\nwant:\n%s", filter, st, stderr, want)
		}
	}
	_, _, stderr := lockpipe(t, []string{"LOCKPIPE_PATH=", "LOCKPIPE_LOG_FILTER=debug"}, "exists")
	if !strings.HasPrefix(stderr, line("DEBUG", "checking if pipe exists at", "/run/forever")) {
		t.Errorf("default path not used: %q", stderr)
	}
}
