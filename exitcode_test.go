package main

// In-process tests of exit statuses, failure messages and the log's lines and filter.

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestExitStatus checks the mapping from errors to statuses and messages.
func TestExitStatus(t *testing.T) {
	rows := []struct {
		name string
		err  error
		want int
		msg  string
	}{
		{"success", nil, 0, ""},
		{"nothing there", &failure{statusNoPipe, levelInfo, ""}, 1, ""},
		{"not a pipe", notPipeError("/p", "a socket"), 17, `found a socket at "/p", not a named pipe; leaving it untouched`},
		{"usage", usageError("bad"), 22, "bad"},
		{"missing directory", sysError("create pipe at", "/a/b", syscall.ENOENT), 2, `cannot create pipe at "/a/b": no such file or directory (a directory on the path is missing)`},
		{"permission", sysError("check", "/p", syscall.EACCES), 13, `cannot check "/p": permission denied`},
		{"not a directory", sysError("check", "/f/p", syscall.ENOTDIR), 20, `cannot check "/f/p": not a directory`},
		{"read-only", sysError("create pipe at", "/ro/p", syscall.EROFS), 30, `cannot create pipe at "/ro/p": read-only file system`},
		{"loop", sysError("check", "/l", syscall.ELOOP), 40, `cannot check "/l": too many levels of symbolic links`},
		{"name too long", sysError("check", "/n", syscall.ENAMETOOLONG), 36, `cannot check "/n": file name too long`},
		{"no errno", sysError("check", "/x", errors.New("odd")), 5, `cannot check "/x": odd`},
		{"output full", outputError(&os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.ENOSPC}), 28, "cannot write to standard output: no space left on device"},
		{"vanishing pipe", vanished("/v"), 11, `cannot hold pipe at "/v": it was removed again each of 10 times it was there; something keeps removing it (resource temporarily unavailable)`},
		{"bare errno", syscall.EPERM, 1, ""},
		{"other", errors.New("other"), 5, ""},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if got := exitStatus(r.err); got != r.want {
				t.Errorf("exitStatus(%v) = %d, want %d", r.err, got, r.want)
			}
			if f, ok := r.err.(*failure); ok && f.msg != r.msg {
				t.Errorf("message %q, want %q", f.msg, r.msg)
			}
		})
	}
}

// TestParseFilter checks levels, directives and the items ignored.
func TestParseFilter(t *testing.T) {
	rows := []struct {
		in   string
		want level
		bad  []string
	}{
		{"", levelInfo, nil},
		{"off", levelOff, nil},
		{"error", levelError, nil},
		{"ERROR", levelError, nil},
		{"warn", levelWarn, nil},
		{"info", levelInfo, nil},
		{"debug", levelDebug, nil},
		{"Debug", levelDebug, nil},
		{"trace", levelTrace, nil},
		{"TRACE", levelTrace, nil},
		{"info,debug", levelDebug, nil},
		{"lockpipes=debug", levelDebug, nil},
		{"lockpipes=warn,trace", levelWarn, nil},
		{"warn,lockpipes=debug", levelDebug, nil},
		{"lockpipes=debug,warn", levelDebug, nil},
		{"lockpipes", levelTrace, nil},
		{"other=error", levelInfo, nil},
		{"other=trace,lockpipes=warn", levelWarn, nil},
		{"a::b", levelInfo, nil},
		{"hyper::client=trace , debug ,", levelDebug, nil},
		{" debug , ,", levelDebug, nil},
		{"debgu", levelInfo, []string{"debgu"}},
		{"bogus,debug", levelDebug, []string{"bogus"}},
		{"lockpipes=loud", levelInfo, []string{"lockpipes=loud"}},
		{"x=y,debug,=info", levelDebug, []string{"x=y", "=info"}},
		{"=debug,error", levelError, []string{"=debug"}},
		{"lockpipes=", levelInfo, []string{"lockpipes="}},
		{"lockpipe=debug", levelDebug, nil},
		{"warn,lockpipe=trace", levelTrace, nil},
	}
	for _, r := range rows {
		t.Run(r.in, func(t *testing.T) {
			got, bad := parseFilter(r.in)
			if got != r.want || strings.Join(bad, "|") != strings.Join(r.bad, "|") {
				t.Errorf("parseFilter(%q) = %v, %q; want %v, %q", r.in, got, bad, r.want, r.bad)
			}
		})
	}
}

// TestLogLines checks each level's line, plain and in colour, and that the filter holds.
func TestLogLines(t *testing.T) {
	saved := logger
	defer func() { logger = saved }()
	var buf bytes.Buffer
	logger.min, logger.color, logger.w = levelTrace, false, &buf
	for _, f := range []func(string){trace, debug, info, warn} {
		f("m")
	}
	logAt(levelError, "m")
	infoAt("at ", `"p"`)
	if want := "[TRACE lockpipes] m\n[DEBUG lockpipes] m\n[INFO  lockpipes] m\n[WARN  lockpipes] m\n[ERROR lockpipes] m\n[INFO  lockpipes] at \"p\"\n"; buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	logger.min, logger.color = levelWarn, true
	info("hidden")
	warn("shown")
	if want := "[\x1b[33mWARN \x1b[0m lockpipes] shown\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

// TestLogLineAllocates checks that a line to standard error allocates
// nothing: a released waiter's last line would take a fresh page of Go's
// heap on a processor it has not used yet.
func TestLogLineAllocates(t *testing.T) {
	saved := logger
	defer func() { logger = saved }()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	logger.min, logger.color, logger.w = levelInfo, true, &lineWriter{fd: int(null.Fd())}
	q := strconv.Quote("/run/" + strings.Repeat("x", 80))
	if n := testing.AllocsPerRun(20, func() { infoAt("read from pipe at ", q) }); n != 0 && allocationsCounted() {
		t.Errorf("a line allocated %v times; want 0", n)
	}
}

// TestStartAllocates checks that what every start does, and a wait's
// end, allocates nothing: each size Go's heap gives out for the first time
// takes a fresh span of it, page faults a start pays for (docs/figures.md).
func TestStartAllocates(t *testing.T) {
	saved := logger
	defer func() { logger = saved }()
	defer setDoing(doingNow(), "")
	logger.min, logger.w = levelInfo, io.Discard
	rows := []struct {
		name string
		f    func()
	}{
		{"the filter, unset", func() { parseFilter("") }},
		{"the filter, two items", func() { parseFilter("warn, lockpipe=info") }},
		{"saying what it does", func() { setDoing("reading from pipe at", `"/p"`) }},
		{"a debug line, filtered", func() { debugAt("ensuring pipe exists at ", `"/run/lockpipe/a-pipe"`) }},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(20, row.f); n != 0 && allocationsCounted() {
				t.Errorf("allocated %v times; want 0", n)
			}
		})
	}
	setDoing("reading from pipe at", `"/p"`)
	if got, want := doingNow(), `reading from pipe at "/p"`; got != want {
		t.Errorf("doingNow() = %q; want %q", got, want)
	}
	setDoing("starting", "")
	if got := doingNow(); got != "starting" {
		t.Errorf("doingNow() = %q; want %q", got, "starting")
	}
}
