package main

import (
	"strconv"
	"syscall"
)

// Exit statuses that are not the errno of a failed system call.
const (
	statusOK      = 0
	statusNoPipe  = 1                      // exists: no named pipe at the path
	statusNotPipe = int(syscall.EEXIST)    // something other than a named pipe is at the path
	statusUsage   = int(syscall.EINVAL)    // bad command line or environment
	statusTimeout = int(syscall.ETIMEDOUT) // --timeout ran out before a partner arrived
	statusSignal  = 128                    // plus the signal number, as shells report it
	statusOther   = int(syscall.EIO)       // an error that carries no errno
)

// failure is an error that knows its exit status and the one line that explains it.
type failure struct {
	status int
	msg    string // logged at ERROR; empty when the status speaks for itself
}

// Error returns the explanation.
func (f *failure) Error() string { return f.msg }

// usageError reports a bad command line or environment.
func usageError(msg string) error {
	return &failure{statusUsage, msg}
}

// notPipeError reports that path holds something that lockpipe must leave alone.
func notPipeError(path, what string) error {
	return &failure{statusNotPipe, "found " + what + " at " + strconv.Quote(path) + ", not a named pipe; leaving it untouched"}
}

// sysError reports a failed system call on path in plain words, with its errno as the status.
func sysError(action, path string, err error) error {
	msg := "cannot " + action + " " + strconv.Quote(path) + ": " + err.Error()
	errno, ok := err.(syscall.Errno)
	if !ok {
		return &failure{statusOther, msg}
	}
	if errno == syscall.ENOENT {
		msg += " (a directory on the path is missing)"
	}
	return &failure{int(errno), msg}
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
