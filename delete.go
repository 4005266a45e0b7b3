//go:build linux

package main

// delete: release everyone waiting on a named pipe, then remove it, without
// ever removing anything else. There is no unlink by inode, so delete moves
// whatever the path names to a name of its own beside it,
// ".lockpipe-deleting-NAME.INODE" (the inode of the pipe it took, and -N
// after it when a file of the user's has that name), before
// anyone is released (a delete that cannot remove releases nobody), then
// releases and removes it if it is a named pipe, and puts anything else back.

import (
	"strconv"
	"strings"
	"syscall"
)

// deletingName is the name delete moves the pipe called name, inode ino, to.
func deletingName(name string, ino uint64) string {
	return privateName("deleting", name) + "." + strconv.FormatUint(ino, 10)
}

// remove releases everyone waiting on the named pipe at path, then removes
// it and its record; removed is false when nothing was there.
func remove(path string) (removed bool, err error) {
	h, err := takeHandle(path, false)
	if err != nil {
		return false, err
	}
	defer h.close()
	if h.st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		return false, refuseLink(path)
	}
	if h.present() && !h.fifo {
		return false, notPipeError(path, h.what)
	}
	trimmed := strings.TrimRight(path, "/")
	dir, name := parent(path), trimmed[strings.LastIndexByte(trimmed, '/')+1:]
	d, locked, err := openLocked(dir)
	if err == syscall.ENOENT && !h.present() {
		return false, nil
	}
	if err != nil {
		return false, sysError("delete pipe at", path, err)
	}
	defer syscall.Close(d)
	if locked {
		finishKilled(d, dir, name)
	}
	if !h.present() {
		return false, nil
	}
	defer unstoppable()() // no signal ends lockpipe while the path is moved away
	private := deletingName(name, h.st.Ino)
	err = moveNoReplace(d, name, private)
	for n := 2; err == syscall.EEXIST && n <= tries; n++ { // a name of the user's: take another
		private = deletingName(name, h.st.Ino) + "-" + strconv.Itoa(n)
		err = moveNoReplace(d, name, private)
	}
	switch err {
	case nil:
	case syscall.ENOENT:
		return false, nil
	default:
		return false, sysError("delete pipe at", path, err)
	}
	removed, putBack, err := settle(d, path, name, private)
	if putBack {
		return false, errorLine(statusNotPipe, strconv.Quote(path)+" was replaced while being deleted; leaving it untouched")
	}
	if removed {
		if line, err := readlinkat(d, privateName("record", name)); err == nil && strings.HasPrefix(line, recordPrefix) {
			syscall.Unlinkat(d, privateName("record", name))
		}
	}
	return removed, err
}

// refuseLink says why delete leaves the symbolic link at path alone; a dangling one is nothing to delete.
func refuseLink(path string) error {
	t, err := takeHandle(path, true)
	if err != nil || !t.present() {
		return err
	}
	t.close()
	if t.fifo {
		return errorLine(statusNotPipe, "found a symbolic link to a named pipe at "+strconv.Quote(path)+
			"; delete removes only a named pipe named by its own path, leaving the link untouched")
	}
	return notPipeError(path, t.what)
}

// openLocked opens dir and takes its lock, which every delete of a name
// there holds while it moves things; where dir cannot be read it is opened
// unlocked (locked is false), only to name things in it.
func openLocked(dir string) (d int, locked bool, err error) {
	d, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err == syscall.EACCES {
		d, err = syscall.Open(dir, oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		return d, false, err
	}
	if err != nil {
		return -1, false, err
	}
	for err = syscall.Flock(d, syscall.LOCK_EX); err == syscall.EINTR; err = syscall.Flock(d, syscall.LOCK_EX) {
	}
	return d, err == nil, nil
}

// settle finishes a delete whose object is at its private name: a named
// pipe is released and removed; anything else is put back, never over
// whatever took the path meanwhile, in which case it stays and err says where.
func settle(d int, path, name, private string) (removed, putBack bool, err error) {
	at := parent(path) + "/" + private
	fd, err := syscall.Openat(d, private, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false, false, nil // a delete that ran meanwhile finished it
	}
	m := &handle{path: at, fd: fd}
	defer m.close()
	if syscall.Fstat(fd, &m.st) == nil && kind(fd, &m.st) == "" {
		if err := releaseAndUnlink(d, m, private); err != nil && err != syscall.ENOENT {
			return false, false, sysError("delete pipe at", path, err)
		}
		return true, false, nil
	}
	if err := moveNoReplace(d, private, name); err != nil {
		return false, false, errorLine(statusNotPipe, strconv.Quote(path)+" was replaced while being deleted, and cannot be put back ("+
			err.Error()+"); it is now at "+strconv.Quote(at))
	}
	return false, true, nil
}

// releaseAndUnlink releases everyone waiting on the pipe m, which is at its
// private name in d: opening it for reading and writing never blocks and
// counts as a partner for both sides, so everyone waiting in open(2) goes
// on, and readers see end-of-file when it closes. Without permission to
// open it, the removal itself releases them: their paths no longer lead to it.
func releaseAndUnlink(d int, m *handle, private string) error {
	if rw, err := m.reopen(syscall.O_RDWR | syscall.O_NONBLOCK); err == nil {
		defer syscall.Close(rw)
	}
	return syscall.Unlinkat(d, private)
}

// finishKilled finishes what a killed delete of name left in d: a named
// pipe at a private name whose inode is the one the name gives, released and
// removed. Anything else at such a name is left as it is, with a WARN line.
func finishKilled(d int, dir, name string) {
	prefix := privateName("deleting", name) + "."
	for _, entry := range namesIn(d) {
		number, _, _ := strings.Cut(strings.TrimPrefix(entry, prefix), "-") // INODE, or INODE-N
		ino, err := strconv.ParseUint(number, 10, 64)
		if !strings.HasPrefix(entry, prefix) || err != nil {
			continue
		}
		at := strconv.Quote(strings.TrimSuffix(dir, "/") + "/" + entry)
		fd, err := syscall.Openat(d, entry, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		m := &handle{path: at, fd: fd}
		if syscall.Fstat(fd, &m.st) == nil && kind(fd, &m.st) == "" && m.st.Ino == ino {
			if releaseAndUnlink(d, m, entry) == nil {
				warn("removed the pipe that a killed delete left at " + at)
			}
		} else {
			warn("found " + describe(m.st.Mode) + " at " + at + ", which a killed delete may have moved there; leaving it untouched")
		}
		m.close()
	}
}
