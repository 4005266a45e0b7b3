//go:build linux

package main

// Exit statuses, failures and the one way out: a failure carries its
// status, its log level and the one line that explains it; exit writes that
// line and ends the process.

import (
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Exit statuses that are not the errno of a failed system call.
const (
	statusOK        = 0
	statusNoPipe    = 1                   // exists, status: nothing at the path
	statusNobody    = int(syscall.ENXIO)  // write --nowait: nobody was waiting
	statusNotPipe   = int(syscall.EEXIST) // something other than a named pipe is at the path
	statusUsage     = int(syscall.EINVAL) // bad command line or environment
	statusTimeout   = 110                 // --timeout ran out: ETIMEDOUT, but 110 on mips too, where ETIMEDOUT is 145
	statusNoVerdict = 112                 // --status: the hold ended without saying how (its holder was killed)
	statusCannotRun = 126                 // CMD found but not executable, as env and shells say
	statusNotFound  = 127                 // CMD not found
	statusSignal    = 128                 // plus the signal number, as shells report it
	statusOther     = int(syscall.EIO)    // an error that carries no errno
)

// failure is an error that knows its exit status, its log level and the one line that explains it.
type failure struct {
	status int
	level  level
	msg    string // empty when the status speaks for itself
}

// Error returns the explanation.
func (f *failure) Error() string { return f.msg }

// errorLine is a failure reported by an ERROR line.
func errorLine(status int, msg string) error { return &failure{status, levelError, msg} }

// warnLine is a failure reported by a WARN line.
func warnLine(status int, msg string) error { return &failure{status, levelWarn, msg} }

// infoLine is an outcome with a non-zero status reported by an INFO line.
func infoLine(status int, msg string) error { return &failure{status, levelInfo, msg} }

// statusOnly is an outcome whose status speaks for itself: the line was written already, or there is none.
func statusOnly(status int) error { return &failure{status, levelInfo, ""} }

// usageError reports a bad command line or environment.
func usageError(msg string) error { return &failure{statusUsage, levelUsage, msg} }

// notPipeError reports that path holds something that lockpipe must leave alone.
func notPipeError(path, what string) error {
	return errorLine(statusNotPipe, "found "+what+" at "+strconv.Quote(path)+", not a named pipe; leaving it untouched")
}

// sysError reports a failed system call on path in plain words, with its errno as the status.
func sysError(action, path string, err error) error {
	msg := "cannot " + action + " " + strconv.Quote(path) + ": " + err.Error()
	errno, ok := err.(syscall.Errno)
	if !ok {
		return errorLine(statusOther, msg)
	}
	if errno == syscall.ENOENT {
		msg += " (a directory on the path is missing)"
	}
	return errorLine(int(errno), msg)
}

// outputError reports a failed write of help or version text, with its errno as the status.
func outputError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	return errorLine(exitStatus(err), "cannot write to standard output: "+err.Error())
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
		level := levelError
		if f, ok := err.(*failure); ok {
			level = f.level
		}
		logAt(level, err.Error())
	}
	os.Exit(exitStatus(err))
}

// exitWithin is exit for a signal: it waits for a step in progress, runs
// last (which may write to a file system that stopped answering), then
// ends the process within d whatever last and the line do.
func exitWithin(err error, d time.Duration, last func()) {
	stepMu.Lock()
	go func() {
		nap(d)
		os.Exit(exitStatus(err))
	}()
	last()
	exit(err)
}

// unstoppable marks a step that no signal may cut short: the process does
// not end on a signal until the returned function is called. Steps do not nest.
func unstoppable() (done func()) {
	stepMu.Lock()
	return stepMu.Unlock
}

// doing is what lockpipe is doing, for the message of a signal that ends
// it, in two parts: put together only when a message needs it, so that
// saying it allocates nothing.
var doing struct {
	mu        sync.Mutex
	what, obj string
}

// setDoing says what lockpipe is doing, and to what ("" for nothing).
func setDoing(what, obj string) {
	doing.mu.Lock()
	doing.what, doing.obj = what, obj
	doing.mu.Unlock()
}

// doingNow returns what lockpipe is doing, or "".
func doingNow() string {
	doing.mu.Lock()
	defer doing.mu.Unlock()
	if doing.obj == "" {
		return doing.what
	}
	return doing.what + " " + doing.obj
}

// nap sleeps in the kernel, without Go's timers, which need descriptors of their own.
func nap(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

// after returns a channel closed once d has passed.
func after(d time.Duration) <-chan struct{} {
	c := make(chan struct{})
	go func() { nap(d); close(c) }()
	return c
}
