//go:build linux

package main

// install: copy the running binary to DIR/lockpipe for a shared volume,
// replacing a regular file there whole or not at all, and leaving anything
// else there untouched.

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// install copies the running binary to dir/lockpipe with mode 0755 and
// returns the destination. A regular file there is replaced whole or not at
// all; anything else there, at any instant, is left untouched (17).
func install(dir string) (string, error) {
	dst := strings.TrimSuffix(dir, "/") + "/lockpipe"
	d, err := syscall.Open(dir, oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return dst, sysError("install into", dir, err)
	}
	defer syscall.Close(d)
	var st syscall.Stat_t
	if fstatat(d, "lockpipe", &st) == nil && st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return dst, notRegular(dst, st.Mode)
	}
	src, err := openSelf()
	if err != nil {
		return dst, err
	}
	defer syscall.Close(src)
	// The copy has no name until it is whole (O_TMPFILE), so a killed install leaves nothing;
	// where the file system has no O_TMPFILE (NFS, 9p), it has a name of its own from the
	// start, and no signal ends lockpipe until that name is gone again.
	tmp, release := "", func() {}
	defer func() { release() }()
	fd, err := syscall.Openat(d, ".", oTmpfile|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o700)
	if err == syscall.EOPNOTSUPP || err == syscall.EISDIR || err == syscall.EINVAL {
		release, tmp = unstoppable(), uniqueName("install")
		fd, err = syscall.Openat(d, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o700)
	}
	if err != nil {
		return dst, sysError("install into", dir, err)
	}
	if err = copyAll(fd, src); err == nil {
		if err = syscall.Fchmod(fd, 0o755); err == nil { // exactly, whatever the umask
			err = syscall.Fsync(fd)
		}
	}
	if err == nil {
		if tmp == "" {
			release = unstoppable() // the swap into place, and the removal of what it swapped out
		}
		tmp, err = place(d, fd, tmp, dst)
	}
	syscall.Close(fd)
	if tmp != "" {
		syscall.Unlinkat(d, tmp) // the old copy, or this one if it was not placed
	}
	if _, ok := err.(*failure); ok || err == nil {
		return dst, err
	}
	return dst, sysError("install", dst, err)
}

// copyAll copies everything src holds to dst.
func copyAll(dst, src int) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(src, buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return nil
		}
		for b := buf[:n]; len(b) > 0; {
			m, err := syscall.Write(dst, b)
			if err != nil && err != syscall.EINTR {
				return err
			}
			b = b[max(m, 0):]
		}
	}
}

// notRegular reports what install found in its way.
func notRegular(dst string, mode uint32) error {
	return errorLine(statusNotPipe, "found "+describe(mode)+" at "+strconv.Quote(dst)+", not a regular file; leaving it untouched")
}

// openSelf opens the running binary: /proc/self/exe, or without /proc (a bare chroot) the file argv[0] names.
func openSelf() (int, error) {
	self := "/proc/self/exe"
	fd, err := syscall.Open(self, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err == syscall.ENOENT {
		if self, err = lookPath(os.Args[0], getenv("PATH")); err != nil {
			return -1, err
		}
		fd, err = syscall.Open(self, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, sysError("read", self, err)
	}
	return fd, nil
}

// place puts the whole copy out at d/lockpipe. Nothing there: it takes the
// name, which never replaces. A file there: the two are swapped atomically,
// and what came out is removed if it is a regular file, else swapped back.
// It returns the private name the copy still has, if any.
func place(d, out int, tmp, dst string) (string, error) {
	if tmp == "" {
		if err := linkFd(out, d, "lockpipe"); err != syscall.EEXIST {
			return "", err
		}
		tmp = uniqueName("install")
		if err := linkFd(out, d, tmp); err != nil {
			return "", err
		}
	}
	for try := 0; try < tries; try++ {
		err := renameat2(d, tmp, d, "lockpipe", renameExchange)
		switch {
		case err == syscall.ENOENT: // nothing there any more
			if err = moveNoReplace(d, tmp, "lockpipe"); err != syscall.EEXIST {
				return tmp, err
			}
			continue
		case err == syscall.EINVAL: // no RENAME_EXCHANGE here: replace only after a look, as rename(2) must
			var st syscall.Stat_t
			if fstatat(d, "lockpipe", &st) == nil && st.Mode&syscall.S_IFMT != syscall.S_IFREG {
				return tmp, notRegular(dst, st.Mode)
			}
			return tmp, syscall.Renameat(d, tmp, d, "lockpipe")
		case err != nil:
			return tmp, err
		}
		var st syscall.Stat_t
		if fstatat(d, tmp, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			return tmp, nil // the old copy: removed by the caller
		}
		if err := renameat2(d, tmp, d, "lockpipe", renameExchange); err != nil {
			return "", errorLine(statusNotPipe, "found "+describe(st.Mode)+" at "+strconv.Quote(dst)+
				" while installing, and cannot put it back ("+err.Error()+"); it is now at "+strconv.Quote(strings.TrimSuffix(dst, "lockpipe")+tmp))
		}
		return tmp, notRegular(dst, st.Mode)
	}
	return tmp, syscall.EAGAIN
}

// linkFd gives the unnamed file out the name name in d, failing if the name is taken.
func linkFd(out, d int, name string) error {
	if procfs() {
		return linkat(atFdcwd, procSelfFd+strconv.Itoa(out), d, name, atSymlinkFollow)
	}
	return linkat(out, "", d, name, atEmptyPath) // needs CAP_DAC_READ_SEARCH
}

// uniqueName returns a hidden name of lockpipe's that no other process uses.
func uniqueName(what string) string {
	return ".lockpipe-" + what + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}
