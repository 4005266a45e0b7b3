package main

// The bottom layer: exit statuses, failures and their one line, the
// env_logger-style log, and the one way out of the process.

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
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
	return &failure{statusUsage, slog.LevelError, msg}
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
// end of a command never both report, and nothing ends the process while it is held.
var exitMu sync.Mutex

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

// holdExit keeps the process from ending until the returned function is called.
func holdExit() (release func()) {
	exitMu.Lock()
	return exitMu.Unlock
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
var logger = logHandler{min: slog.LevelInfo, w: os.Stderr}

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

// logAt logs msg at level if the filter lets it through.
func logAt(level slog.Level, msg string) {
	ctx := context.Background()
	if logger.Enabled(ctx, level) {
		logger.Handle(ctx, slog.NewRecord(time.Time{}, level, msg, 0))
	}
}

// trace logs at TRACE.
func trace(msg string) { logAt(levelTrace, msg) }

// debugf logs at DEBUG.
func debugf(msg string) { logAt(slog.LevelDebug, msg) }

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
