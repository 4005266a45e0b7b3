package main

// The bottom layer: exit statuses, failures and their one line, the
// env_logger-style log and its settings, and the one way out of the process.

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Exit statuses that are not the errno of a failed system call.
const (
	statusOK        = 0
	statusNoPipe    = 1                   // exists: nothing at the path
	statusNobody    = int(syscall.ENXIO)  // write --nowait: nobody was waiting
	statusNotPipe   = int(syscall.EEXIST) // something other than a named pipe is at the path
	statusUsage     = int(syscall.EINVAL) // bad command line or environment
	statusTimeout   = 110                 // --timeout ran out: ETIMEDOUT, but 110 on mips too, where ETIMEDOUT is 145
	statusCannotRun = 126                 // CMD found but not executable, as env and shells say
	statusNotFound  = 127                 // CMD not found
	statusSignal    = 128                 // plus the signal number, as shells report it
	statusOther     = int(syscall.EIO)    // an error that carries no errno
)

// failure is an error that knows its exit status, its log level and the one line that explains it.
type failure struct {
	status int
	level  slog.Level
	msg    string // empty when the status speaks for itself
}

// Error returns the explanation.
func (f *failure) Error() string { return f.msg }

// usageError reports a bad command line or environment.
func usageError(msg string) error {
	return &failure{statusUsage, levelUsage, msg}
}

// notPipeError reports that path holds something that lockpipe must leave alone.
func notPipeError(path, what string) error {
	return &failure{statusNotPipe, slog.LevelError, "found " + what + " at " + strconv.Quote(path) + ", not a named pipe; leaving it untouched"}
}

// sysError reports a failed system call on path in plain words, with its errno as the status.
func sysError(action, path string, err error) error {
	msg := "cannot " + action + " " + strconv.Quote(path) + ": " + err.Error()
	errno, ok := err.(syscall.Errno)
	if !ok {
		return &failure{statusOther, slog.LevelError, msg}
	}
	if errno == syscall.ENOENT {
		msg += " (a directory on the path is missing)"
	}
	return &failure{int(errno), slog.LevelError, msg}
}

// outputError reports a failed write of help or version text, with its errno as the status.
func outputError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	return &failure{exitStatus(err), slog.LevelError, "cannot write to standard output: " + err.Error()}
}

// exitStatus returns the exit status that reports err.
func exitStatus(err error) int {
	switch e := err.(type) {
	case nil:
		return statusOK
	case *failure:
		return e.status
	case syscall.Errno:
		return int(e)
	}
	return statusOther
}

// exitMu is taken for good by the first way out, so that a signal and the
// end of a command never both report; stepMu is held through a step that no
// signal may cut short (a path moved away), and taken for good by a signal.
var exitMu, stepMu sync.Mutex

// exit logs err's line and ends the process with its status; nil is success.
func exit(err error) {
	exitMu.Lock()
	if err != nil && err.Error() != "" {
		level := slog.LevelError
		if f, ok := err.(*failure); ok {
			level = f.level
		}
		logAt(level, err.Error())
	}
	os.Exit(exitStatus(err))
}

// exitWithin is exit for a signal: it waits for a step in progress, then
// ends the process within d even if its line cannot be written by then
// (standard error a pipe nobody drains), dropping the line.
func exitWithin(err error, d time.Duration) {
	stepMu.Lock()
	go func() {
		nap(d)
		os.Exit(exitStatus(err))
	}()
	exit(err)
}

// unstoppable marks a step that no signal may cut short: the process does
// not end on a signal until the returned function is called.
func unstoppable() (done func()) {
	stepMu.Lock()
	return stepMu.Unlock
}

// doing is what lockpipe is doing, for the message of a signal that ends it.
var doing atomic.Pointer[string]

// setDoing says what lockpipe is doing.
func setDoing(s string) { doing.Store(&s) }

// doingNow returns what lockpipe is doing, or "".
func doingNow() string {
	if s := doing.Load(); s != nil {
		return *s
	}
	return ""
}

// nap sleeps in the kernel, without Go's timers, which need descriptors of their own.
func nap(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

// levelTrace is env_logger's trace, below slog's debug.
const levelTrace = slog.LevelDebug - 4

// levelOff is above every level that is logged.
const levelOff = slog.Level(math.MaxInt32)

// logHandler is a slog.Handler that writes env_logger's lines, without timestamps.
type logHandler struct {
	min   slog.Level
	color bool
	w     io.Writer
}

var _ slog.Handler = (*logHandler)(nil)

// logger is the process's one handler. Records go to it directly rather
// than through slog.Logger: calling a Handler through the interface keeps
// slog's default text and JSON handlers in the binary, about 300 kB.
var logger = logHandler{min: slog.LevelInfo, w: fdWriter(2)}

// fdWriter writes to a descriptor with write(2) itself: no lock, no poller,
// so that a signal's line never waits behind another, nor opens descriptors.
type fdWriter int

// Write writes b whole, or stops at the first error.
func (fd fdWriter) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Write(int(fd), b[n:])
		if err != nil && err != syscall.EINTR {
			return n, err
		}
		n += max(m, 0)
	}
	return n, nil
}

// logTo sends the log to fd from now on.
func logTo(fd int) { logger.w = fdWriter(fd) }

// Enabled reports whether records at level are written.
func (h *logHandler) Enabled(_ context.Context, level slog.Level) bool { return level >= h.min }

// Handle writes one record as "[LEVEL lockpipes] message"; attributes are not used.
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	name, color := "TRACE", "\x1b[36m"
	switch {
	case r.Level >= slog.LevelError:
		name, color = "ERROR", "\x1b[1;31m"
	case r.Level >= slog.LevelWarn:
		name, color = "WARN ", "\x1b[33m"
	case r.Level >= slog.LevelInfo:
		name, color = "INFO ", "\x1b[32m"
	case r.Level >= slog.LevelDebug:
		name, color = "DEBUG", "\x1b[34m"
	}
	if h.color {
		name = color + name + "\x1b[0m"
	}
	_, err := io.WriteString(h.w, "["+name+" lockpipes] "+r.Message+"\n")
	return err
}

// WithAttrs returns h: lockpipe logs plain messages.
func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h: lockpipe logs plain messages.
func (h *logHandler) WithGroup(string) slog.Handler { return h }

// logAt logs msg at level if the filter lets it through; a usage error,
// about the command line rather than the run, always gets its line.
func logAt(level slog.Level, msg string) {
	ctx := context.Background()
	if logger.Enabled(ctx, level) || level == levelUsage {
		logger.Handle(ctx, slog.NewRecord(time.Time{}, level, msg, 0))
	}
}

// levelUsage is the level of a usage error: an ERROR that no filter hides.
const levelUsage = slog.LevelError + 1

// trace logs at TRACE.
func trace(msg string) { logAt(levelTrace, msg) }

// debug logs at DEBUG.
func debug(msg string) { logAt(slog.LevelDebug, msg) }

// info logs at INFO.
func info(msg string) { logAt(slog.LevelInfo, msg) }

// warn logs at WARN.
func warn(msg string) { logAt(slog.LevelWarn, msg) }

// parseLevel reads one level name, in any case.
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "off":
		return levelOff, true
	case "error":
		return slog.LevelError, true
	case "warn":
		return slog.LevelWarn, true
	case "info":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "trace":
		return levelTrace, true
	}
	return 0, false
}

// parseFilter reads LOCKPIPE_LOG_FILTER as env_logger reads RUST_LOG for the
// lockpipes target; bad holds the items it ignored.
func parseFilter(s string) (min slog.Level, bad []string) {
	global, target, haveTarget := slog.LevelInfo, slog.LevelInfo, false
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, lvl, named := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		switch l, ok := parseLevel(strings.TrimSpace(lvl)); {
		case item == "":
		case !named:
			if l, ok := parseLevel(item); ok {
				global = l
			} else if item == "lockpipes" {
				target, haveTarget = levelTrace, true
			} else if !strings.Contains(item, "::") {
				// env_logger would take a bare word for a crate's name, but
				// here it is far more likely a misspelt level.
				bad = append(bad, item)
			}
		case !ok || name == "":
			bad = append(bad, item)
		case name == "lockpipes":
			target, haveTarget = l, true
		}
	}
	if haveTarget {
		return target, bad
	}
	return global, bad
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// setupLogging applies LOCKPIPE_LOG_FILTER and LOCKPIPE_LOG_STYLE, warning about what it ignores.
func setupLogging(getenv func(string) string) {
	min, bad := parseFilter(getenv("LOCKPIPE_LOG_FILTER"))
	logger.min = min
	style := strings.ToLower(strings.TrimSpace(getenv("LOCKPIPE_LOG_STYLE")))
	switch style {
	case "always":
		logger.color = true
	case "never":
		logger.color = false
	default:
		logger.color = isTerminal(2) && getenv("TERM") != "dumb" && getenv("NO_COLOR") == ""
	}
	for _, item := range bad {
		warn("ignoring " + strconv.Quote(item) + " in LOCKPIPE_LOG_FILTER: not off, error, warn, info, debug, trace or lockpipes=LEVEL")
	}
	if style != "" && style != "auto" && style != "always" && style != "never" {
		warn("ignoring LOCKPIPE_LOG_STYLE " + strconv.Quote(getenv("LOCKPIPE_LOG_STYLE")) + ": not auto, always or never")
	}
}
