//go:build linux

package main

// The FIFO primitives: a handle on what a path names, taken without opening
// it, as containerd's fifo package does; the pipe reopened by that handle,
// never by whatever the path names later; making a pipe, with its mode
// exactly; and taking the named pipe at a path, creating it if need be.

import (
	"strconv"
	"strings"
	"syscall"
)

// handle is what a path named when it was taken, held with O_PATH so that
// nothing is opened. Everything after looks at or opens that inode.
type handle struct {
	path string
	fd   int            // the O_PATH descriptor; -1 when nothing is there
	st   syscall.Stat_t // what fd names
	fifo bool           // a named pipe (an anonymous one is not)
	what string         // what is there in words, when it is something else
}

// takeHandle takes a handle on what path names, following symbolic links if follow is set.
func takeHandle(path string, follow bool) (*handle, error) {
	h := new(handle)
	if err := h.take(path, follow); err != nil {
		return nil, err
	}
	return h, nil
}

// take makes h a handle on what path names, following symbolic links if
// follow is set; with nothing there, it names nothing.
func (h *handle) take(path string, follow bool) error {
	*h = handle{path: path, fd: -1}
	flags := oPath | syscall.O_CLOEXEC
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	fd, err := syscall.Open(path, flags, 0)
	switch {
	case err == syscall.ENOENT:
		return nil // a dangling symbolic link is nothing too
	case err != nil:
		return sysError("check", path, err)
	}
	h.fd = fd
	if err := syscall.Fstat(fd, &h.st); err != nil {
		h.close()
		return sysError("check", path, err)
	}
	h.what = kind(fd, &h.st)
	h.fifo = h.what == ""
	if !h.fifo && follow && isLink(path) {
		h.what = "a symbolic link to " + h.what
	}
	return nil
}

// present reports whether the handle names anything, whether or not it is still open.
func (h *handle) present() bool { return h.st.Mode != 0 }

// close lets the handle go.
func (h *handle) close() {
	if h.fd >= 0 {
		syscall.Close(h.fd)
		h.fd = -1
	}
}

// reopen opens the inode the handle names, through /proc/self/fd, so that
// whatever the path names by now is never opened. Without procfs it opens
// the path, and keeps the descriptor only if it is the inode held.
func (h *handle) reopen(flags int) (int, error) {
	flags |= syscall.O_CLOEXEC | syscall.O_NOCTTY
	if procfs() {
		return openPipe(procSelfFd+strconv.Itoa(h.fd), flags)
	}
	fd, err := openPipe(h.path, flags)
	if err != nil {
		return -1, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || !h.same(&st) {
		syscall.Close(fd)
		return -1, syscall.ENOENT // the pipe held is no longer at the path
	}
	return fd, nil
}

// same reports whether st describes the inode held.
func (h *handle) same(st *syscall.Stat_t) bool { return st.Dev == h.st.Dev && st.Ino == h.st.Ino }

// leads reports whether the path still leads to the inode held; any failure to look means it does not.
func (h *handle) leads() bool {
	var st syscall.Stat_t
	err := syscall.Stat(h.path, &st)
	for err == syscall.EINTR {
		err = syscall.Stat(h.path, &st)
	}
	return err == nil && h.same(&st)
}

// describe names a kind of file in words.
func describe(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		return "a named pipe"
	case syscall.S_IFREG:
		return "a regular file"
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFCHR:
		return "a character device"
	case syscall.S_IFBLK:
		return "a block device"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFLNK:
		return "a symbolic link"
	}
	return "a file of unknown kind"
}

// kind names what fd holds in words, or "" for a named pipe (not an anonymous one).
func kind(fd int, st *syscall.Stat_t) string {
	if st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return describe(st.Mode)
	}
	// Anonymous pipes stat as FIFOs too (through /proc/PID/fd); they live on pipefs.
	var fs syscall.Statfs_t
	if syscall.Fstatfs(fd, &fs) == nil && uint32(fs.Type) == pipefsMagic {
		return "an anonymous pipe"
	}
	return ""
}

// isLink reports whether path itself is a symbolic link.
func isLink(path string) bool {
	var st syscall.Stat_t
	return syscall.Lstat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFLNK
}

// exists reports whether a named pipe is at path; a dangling symbolic link counts as nothing.
func exists(path string) (bool, error) {
	var h handle // kept by no one: on the heap it would cost a start a fresh span, two page faults
	if err := h.take(path, true); err != nil {
		return false, err
	}
	h.close()
	if h.present() && !h.fifo {
		return false, notPipeError(path, h.what)
	}
	return h.present(), nil
}

// makePipe runs mkfifo with exactly mode, whatever the umask; false with no error means something is there.
func makePipe(path string, mode uint32) (bool, error) {
	// A chmod after mkfifo could act on something put at the path in between.
	old := syscall.Umask(0)
	err := syscall.Mkfifo(path, mode)
	syscall.Umask(old)
	switch {
	case err == nil:
		return true, nil
	case err == syscall.EEXIST:
		return false, nil
	case err == syscall.EPERM || err == syscall.ENOENT && isDir(parent(path)):
		// mknod(2)'s EPERM (sysfs), or ENOENT in a directory that is there
		// (procfs, which knows only its own names): no named pipes here.
		return false, errorLine(int(syscall.EOPNOTSUPP), "cannot create pipe at "+strconv.Quote(path)+
			": the file system there does not support named pipes (mkfifo: "+err.Error()+")")
	}
	return false, sysError("create pipe at", path, err)
}

// parent returns the directory a path's last name is in.
func parent(path string) string {
	i := strings.LastIndexByte(strings.TrimRight(path, "/"), '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return path[:i]
}

// isDir reports whether path leads to a directory.
func isDir(path string) bool {
	var st syscall.Stat_t
	return syscall.Stat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFDIR
}

// create makes the named pipe at path, logging what it found, and returns a
// handle on it; a named pipe already there is success (created is false).
func create(path string, mode uint32) (h *handle, created bool, err error) {
	q := strconv.Quote(path)
	debugAt("creating pipe at ", q)
	for try := 0; try < tries; try++ {
		if created, err = makePipe(path, mode); err != nil {
			return nil, false, err
		}
		h, err := pipeAt(path)
		switch {
		case h != nil && created:
			info("created pipe at " + q)
			return h, true, nil
		case h != nil:
			warn("pipe already exists at " + q)
			return h, false, nil
		case err != nil:
			return nil, false, err
		case isLink(path): // mkfifo does not follow it, and nothing is there to find
			return nil, false, notPipeError(path, "a dangling symbolic link")
		}
	}
	return nil, false, vanished(path)
}

// vanished reports a path whose pipe was removed each time lockpipe came to take it.
func vanished(path string) error {
	return errorLine(int(syscall.EAGAIN), "cannot hold pipe at "+strconv.Quote(path)+": it was removed again each of "+
		strconv.Itoa(tries)+" times it was there; something keeps removing it (resource temporarily unavailable)")
}

// pipeAt takes the named pipe at path; nil with no error when nothing is there, 17 for anything else.
func pipeAt(path string) (*handle, error) {
	h, err := takeHandle(path, true)
	switch {
	case err != nil:
		return nil, err
	case !h.present():
		return nil, nil
	case !h.fifo:
		h.close()
		return nil, notPipeError(path, h.what)
	}
	return h, nil
}

// ensure takes the named pipe at path, creating it first when nothing is there.
func ensure(path string, mode uint32) (*handle, error) {
	q := strconv.Quote(path)
	debugAt("ensuring pipe exists at ", q)
	h, err := pipeAt(path)
	switch {
	case h != nil:
		info("pipe exists at " + q)
		return h, nil
	case err != nil:
		return nil, err
	}
	warn("pipe does not exist at " + q)
	if h, _, err = create(path, mode); h != nil {
		clearRecord(h, false) // a pipe made now has none: one there is an earlier pipe's
	}
	return h, err
}

// endOfFile reports whether the pipe's writers have all closed it, reading
// into buf, without blocking, what they left (a pipe's buffer: 64 kB).
func endOfFile(fd int, buf []byte) bool {
	syscall.SetNonblock(fd, true)
	for i := 0; i <= 64<<10/len(buf); i++ {
		n, err := syscall.Read(fd, buf)
		if n == 0 && err == nil {
			return true
		}
		if err != nil && err != syscall.EINTR {
			return false
		}
	}
	return false
}
