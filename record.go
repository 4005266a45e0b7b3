//go:build linux

package main

// A hold's record: what a pipe's readers learn when they come after a hold
// has ended, or at its end-of-file, and that the kernel cannot tell them
// (nothing survives the last close of a pipe): that the pipe was held in
// this run, and how its holder ended. It is a symbolic link beside the pipe,
// ".lockpipe-record-NAME", holding a line such as
//
//	lockpipe 1 BOOT-ID INODE MTIME exit 3
//
// Creating the link is atomic and reading it opens nothing, on every file
// system; it needs no write permission on the pipe, only on its directory.
// A record counts only for the same pipe in the same boot: the same inode,
// and the same modification time, in nanoseconds, since a pipe made later
// at the same name may be given the same inode number again (ext4 does).

import (
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// recordPrefix begins every record lockpipe writes; anything else at a record's name is not lockpipe's.
const recordPrefix = "lockpipe 1 "

// record is what a hold left on a pipe in this run.
type record struct {
	how string // "held" (no verdict yet, or none ever: its holder was killed), "exit" or "signal"
	n   int    // the exit status, or the signal's number
}

// status returns the exit status --status reports for the hold's end.
func (r record) status() int {
	switch r.how {
	case "exit":
		return r.n
	case "signal":
		return statusSignal + r.n
	}
	return statusNoVerdict
}

// String says how the hold ended, for log lines.
func (r record) String() string {
	switch r.how {
	case "exit":
		return "its command exited with status " + strconv.Itoa(r.n)
	case "signal":
		return "its command was ended by " + signalName(syscall.Signal(r.n)) + " (status " + strconv.Itoa(r.status()) + ")"
	}
	return "without a verdict: its holder was killed"
}

// boot holds this boot's identity once bootID has read it.
var boot struct {
	once sync.Once
	id   string
}

// bootID returns this boot's identity, "-" where /proc cannot tell it, read
// once. A sync.Once in a variable, where sync.OnceValue would allocate as
// the process starts.
func bootID() string {
	boot.once.Do(func() {
		boot.id = "-"
		if b, err := readFile(bootIDPath); err == nil {
			if id := trimSpace(string(b)); id != "" {
				boot.id = id
			}
		}
	})
	return boot.id
}

// privateName returns lockpipe's own name for what, beside name: one that
// fits in NAME_MAX, a hash standing for a name too long to be kept whole.
func privateName(what, name string) string {
	if len(".lockpipe-"+what+"-"+name) <= nameMax-21 { // room for a suffix such as ".INODE"
		return ".lockpipe-" + what + "-" + name
	}
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return ".lockpipe-" + what + "-" + strconv.FormatUint(h, 16)
}

// location returns the directory and the name of the pipe itself: where
// the path leads once a symbolic link at its end is followed.
func (h *handle) location() (dir, name string) {
	path := h.path
	if isLink(path) && procfs() {
		if real, err := readlink(procSelfFd + strconv.Itoa(h.fd)); err == nil && strings.HasPrefix(real, "/") && !strings.HasSuffix(real, " (deleted)") {
			path = real
		}
	}
	for n := 0; n < 40 && isLink(path); n++ { // without /proc: resolve the links by hand
		target, err := readlink(path)
		if err != nil {
			break
		}
		if !strings.HasPrefix(target, "/") {
			target = parent(path) + "/" + target
		}
		path = target
	}
	trimmed := strings.TrimRight(path, "/")
	return parent(path), trimmed[strings.LastIndexByte(trimmed, '/')+1:]
}

// recordDir opens the directory that holds the pipe's record, and returns the record's name.
func (h *handle) recordDir(flags int) (int, string, error) {
	dir, name := h.location()
	d, err := syscall.Open(dir, flags|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	return d, privateName("record", name), err
}

// parseRecord reads a record's line; ok is false when it is not one of lockpipe's.
func parseRecord(line string) (boot, pipe string, r record, ok bool) {
	f := strings.Split(strings.TrimPrefix(line, recordPrefix), " ") // one space apart, as writeRecordAt writes it
	if !strings.HasPrefix(line, recordPrefix) || len(f) < 4 {
		return "", "", r, false
	}
	r.how = f[3]
	switch {
	case r.how == "held" && len(f) == 4:
	case (r.how == "exit" || r.how == "signal") && len(f) == 5:
		var err error
		if r.n, err = strconv.Atoi(f[4]); err != nil || r.n < 0 || r.n > 255 {
			return "", "", r, false
		}
	default:
		return "", "", r, false
	}
	return f[0], f[1] + " " + f[2], r, true
}

// identity names the pipe h for its record, as it is now: its inode and its modification time.
func (h *handle) identity() string {
	st := h.st
	if h.fd >= 0 {
		syscall.Fstat(h.fd, &st)
	}
	return strconv.FormatUint(st.Ino, 10) + " " + strconv.FormatInt(st.Mtim.Nano(), 10)
}

// readRecordAt reads the record name in d for the pipe h: ours reports
// whether a record of lockpipe's is there at all, found whether it is this
// pipe's in this boot (or was written or is read where the boot cannot be told).
func (h *handle) readRecordAt(d int, name string) (r record, found, ours bool) {
	line, err := readlinkat(d, name)
	if err != nil {
		return r, false, false
	}
	boot, pipe, r, ours := parseRecord(line)
	return r, ours && pipe == h.identity() && (boot == bootID() || boot == "-" || bootID() == "-"), ours
}

// readRecord returns the pipe's record of this run, if it has one.
func (h *handle) readRecord() (record, bool) {
	r, found, _ := h.recordOf()
	return r, found
}

// recordOf reads the pipe's record, as readRecordAt does.
func (h *handle) recordOf() (r record, found, ours bool) {
	d, name, err := h.recordDir(oPath)
	if err != nil {
		return r, false, false
	}
	defer syscall.Close(d)
	return h.readRecordAt(d, name)
}

// writeRecord replaces the pipe's record with r, unless the name is taken
// by something that is not lockpipe's. A reader that looks in between finds
// no record, and a writer still there: the hold itself, whose end it awaits.
func (h *handle) writeRecordAt(d int, name string, r record) error {
	if _, _, ours := h.readRecordAt(d, name); !ours {
		var st syscall.Stat_t
		if fstatat(d, name, &st) == nil {
			return errorLine(statusNotPipe, "found "+describe(st.Mode)+" at "+strconv.Quote(name)+", which is not lockpipe's; leaving it untouched")
		}
	} else if err := syscall.Unlinkat(d, name); err != nil && err != syscall.ENOENT {
		return err
	}
	line := recordPrefix + bootID() + " " + h.identity() + " " + r.how
	if r.how != "held" {
		line += " " + strconv.Itoa(r.n)
	}
	return symlinkat(line, d, name)
}

// lockedRecord runs f on the pipe's record directory under its lock, which
// every holder takes to read and then write the record; where the directory
// cannot be read, without it.
func (h *handle) lockedRecord(f func(d int, name string) error) error {
	d, name, err := h.recordDir(syscall.O_RDONLY)
	if err == syscall.EACCES {
		d, name, err = h.recordDir(oPath)
	} else if err == nil {
		for syscall.Flock(d, syscall.LOCK_EX) == syscall.EINTR {
		}
	}
	if err != nil {
		return err
	}
	defer syscall.Close(d)
	return f(d, name)
}

// beginHold records that the pipe is held, right after the hold opened it:
// a hold that begins while another holds joins it, and keeps the record.
func (h *handle) beginHold(othersHold bool) {
	err := h.lockedRecord(func(d int, name string) error {
		if _, found, _ := h.readRecordAt(d, name); found && othersHold {
			return nil
		}
		return h.writeRecordAt(d, name, record{how: "held"})
	})
	if err != nil {
		warn("cannot record the hold of pipe at " + strconv.Quote(h.path) + " (" + err.Error() +
			"); readers that come after it ends will wait for the next holder")
	}
}

// endHold records how the hold ended, before it lets the pipe go: of the
// holders of one hold, the first that failed gives its verdict. A pipe
// deleted meanwhile gets none.
func (h *handle) endHold(r record) {
	var st syscall.Stat_t
	if syscall.Fstat(h.fd, &st) != nil || st.Nlink == 0 {
		return
	}
	err := h.lockedRecord(func(d int, name string) error {
		if old, found, _ := h.readRecordAt(d, name); found && old.how != "held" && old.status() != 0 {
			return nil
		}
		return h.writeRecordAt(d, name, r)
	})
	if err != nil {
		warn("cannot record how the hold of pipe at " + strconv.Quote(h.path) + " ended (" + err.Error() + ")")
	}
}

// clearRecord removes the pipe's record, if lockpipe wrote one: the pipe
// begins a new run. announce says so in an INFO line when the record was of this run.
func clearRecord(h *handle, announce bool) {
	d, name, err := h.recordDir(oPath)
	if err != nil {
		return
	}
	defer syscall.Close(d)
	r, found, ours := h.readRecordAt(d, name)
	if ours && syscall.Unlinkat(d, name) == nil && found && announce {
		info("cleared the record of an earlier run of pipe at " + strconv.Quote(h.path) + " (" + r.String() +
			"); readers wait for the next holder")
	}
}
