package main

import (
	"strconv"
	"syscall"
)

// entry is what a path holds, following symbolic links.
type entry struct {
	exists bool   // something is at the end of the path
	pipe   bool   // and it is a named pipe
	link   bool   // the path itself is a symbolic link
	what   string // what is there, for messages; set for a dangling link too
}

// inspect reports what path holds without opening it.
func inspect(path string) (entry, error) {
	var e entry
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		if err == syscall.ENOENT {
			return e, nil
		}
		return e, err
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		e.link = true
		if err := syscall.Stat(path, &st); err == syscall.ENOENT {
			e.what = "a dangling symbolic link"
			return e, nil
		} else if err != nil {
			return e, err
		}
	}
	e.exists = true
	e.pipe = st.Mode&syscall.S_IFMT == syscall.S_IFIFO
	e.what = describe(st.Mode, e.link)
	return e, nil
}

// describe names a kind of file in words.
func describe(mode uint32, link bool) string {
	var s string
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		s = "a named pipe"
	case syscall.S_IFREG:
		s = "a regular file"
	case syscall.S_IFDIR:
		s = "a directory"
	case syscall.S_IFCHR:
		s = "a character device"
	case syscall.S_IFBLK:
		s = "a block device"
	case syscall.S_IFSOCK:
		s = "a socket"
	default:
		s = "a file of unknown kind"
	}
	if link {
		return "a symbolic link to " + s
	}
	return s
}

// makePipe creates a named pipe at path with exactly mode; created is false when one was already there.
func makePipe(path string, mode uint32) (created bool, err error) {
	for try := 0; try < 10; try++ {
		// The mode must hold whatever the umask says, and a chmod after
		// mkfifo could act on something put at the path in between.
		old := syscall.Umask(0)
		err = syscall.Mkfifo(path, mode)
		syscall.Umask(old)
		if err != syscall.EEXIST {
			if err != nil {
				return false, sysError("create pipe at", path, err)
			}
			return true, nil
		}
		e, err := inspect(path)
		switch {
		case err != nil:
			return false, sysError("check", path, err)
		case e.pipe:
			return false, nil // another process created it first, which is as good
		case e.what != "":
			return false, notPipeError(path, e.what)
		}
		// It was removed again between our two calls: try once more.
	}
	return false, sysError("create pipe at", path, syscall.EEXIST)
}

// openPipe opens the named pipe at path with flags, blocking until the other
// side is open too; it gives up with ETIMEDOUT when interrupted once stop says so.
func openPipe(path string, flags int, stop func() bool) (int, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, flags|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			break
		}
		if stop() {
			return -1, syscall.ETIMEDOUT
		}
	}
	if err != nil {
		return -1, err
	}
	// inspect ran before this open; whatever is there now must still be a pipe.
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		syscall.Close(fd)
		if err != nil {
			return -1, sysError("check", path, err)
		}
		return -1, notPipeError(path, describe(st.Mode, false))
	}
	trace("opened pipe at " + strconv.Quote(path) + " as descriptor " + strconv.Itoa(fd))
	return fd, nil
}

// drain reads and discards from fd until end-of-file.
func drain(fd int) error {
	var buf [4096]byte
	for {
		n, err := syscall.Read(fd, buf[:])
		switch {
		case err == syscall.EINTR:
		case err != nil:
			return err
		case n == 0:
			return nil
		}
	}
}

// removePipe releases every reader and writer waiting on the named pipe at path, then removes it.
// removed is false when no named pipe was there.
func removePipe(path string) (removed bool, err error) {
	e, err := inspect(path)
	switch {
	case err != nil:
		return false, sysError("check", path, err)
	case !e.exists:
		return false, nil
	case !e.pipe:
		return false, notPipeError(path, e.what)
	case e.link:
		return false, &failure{statusNotPipe, "found " + e.what + " at " + strconv.Quote(path) +
			"; delete removes only a named pipe named by its own path, leaving the link untouched"}
	}
	// Opening for reading and writing never blocks on Linux and counts as a
	// partner for both sides, so everyone waiting in open(2) goes on; readers
	// then see end-of-file when this descriptor closes, after the unlink.
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
	if err == syscall.ENOENT {
		return false, nil
	}
	if err != nil {
		return false, sysError("open pipe to release its waiters at", path, err)
	}
	defer syscall.Close(fd)
	var held, now syscall.Stat_t
	if err := syscall.Fstat(fd, &held); err != nil {
		return false, sysError("check", path, err)
	}
	if err := syscall.Lstat(path, &now); err == syscall.ENOENT {
		return false, nil
	} else if err != nil {
		return false, sysError("check", path, err)
	}
	if now.Dev != held.Dev || now.Ino != held.Ino {
		// Replaced since the open: whatever is there now is not ours to remove.
		return false, &failure{statusNotPipe, strconv.Quote(path) + " was replaced while being deleted; leaving it untouched"}
	}
	if err := syscall.Unlink(path); err == syscall.ENOENT {
		return false, nil
	} else if err != nil {
		return false, sysError("delete pipe at", path, err)
	}
	return true, nil
}
