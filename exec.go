//go:build linux

package main

// Becoming CMD: finding it as execvp does, and replacing lockpipe with it.

import (
	"strconv"
	"strings"
	"syscall"
)

// defaultExecPath is where CMD is looked up when PATH is unset or empty.
const defaultExecPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds a command as execvp does: a name with a slash as it is, any
// other in PATH, where an empty entry is the working directory, skipping what
// cannot be executed; a permission problem is reported only when nothing else is found.
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	where, denied := "PATH", ""
	if path == "" {
		path, where = defaultExecPath, defaultExecPath
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		f := dir + "/" + name
		var st syscall.Stat_t
		if name == "" || syscall.Stat(f, &st) != nil || st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			continue
		}
		if syscall.Faccessat(atFdcwd, f, xOK, atEaccess) == nil {
			return f, nil
		}
		if denied == "" {
			denied = f
		}
	}
	if denied != "" {
		return "", errorLine(statusCannotRun, "cannot run "+strconv.Quote(name)+": "+strconv.Quote(denied)+": permission denied")
	}
	return "", errorLine(statusNotFound, "cannot run "+strconv.Quote(name)+": not found in "+where)
}

// cannotRun reports a failed exec of argv[0]: 127 when it is not there, 126
// when it cannot be run, and otherwise the errno of what lockpipe lacked to
// start it (24 for descriptors).
func cannotRun(name string, err error) error {
	status := statusCannotRun
	switch err {
	case syscall.ENOENT:
		status = statusNotFound
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN:
		status = int(err.(syscall.Errno))
	}
	return errorLine(status, "cannot run "+strconv.Quote(name)+": "+err.Error())
}

// become replaces lockpipe with argv: the same PID, environment and working
// directory, and the standard streams but for those stdio gives (a
// descriptor for 0, 1 or 2; -1 keeps it). Every descriptor lockpipe opened
// is close-on-exec; no signal is left blocked, and the handled ones return
// to their default, but for those ignored when lockpipe started.
func become(argv []string, path string, stdio [3]int) error {
	file, err := lookPath(argv[0], path)
	if err != nil {
		return err
	}
	lockThread(true)
	handOverSignals()
	if stdio[2] >= 0 { // lockpipe's own lines stay on the standard error it was given
		if saved, err := fcntl(2, syscall.F_DUPFD_CLOEXEC, 3); err == nil {
			logTo(saved)
		}
	}
	for n, fd := range stdio {
		if fd >= 0 {
			if err := syscall.Dup3(fd, n, 0); err != nil {
				return sysError("connect the standard streams of CMD to", argv[0], err)
			}
		}
	}
	var none sigset
	if err = sigmask(sigSetmask, &none, nil); err == nil {
		err = syscall.Exec(file, argv, syscall.Environ())
	}
	return cannotRun(argv[0], err)
}
