//go:build linux

package main

// Who has a pipe open, or waits on it, from /proc: a descriptor's link leads
// to the pipe's inode (stat follows it without opening anything), and its
// fdinfo tells how it was opened. A lockpipe writer that waits in open(2)
// holds the pipe only by an O_PATH handle, a reader also by a descriptor
// open for reading; their command lines say which way they wait.

import (
	"strconv"
	"strings"
	"syscall"
)

// opener is a process that has a pipe open, or waits on it.
type opener struct {
	pid  int
	role string // holder (read and write), writer, reader
	how  string // open, waiting (for a writer to come), reading (what a writer that came writes)
	cmd  string
	// handle: it waits to open the pipe, holding it by an O_PATH handle;
	// waits: it is a lockpipe that waits to read or write the pipe.
	handle, waits bool
}

// writes reports whether the process has the pipe open for writing now.
func (o opener) writes() bool {
	return o.role == "holder" || o.role == "writer" && o.how == "open"
}

// fdinfo flags: how a descriptor was opened.
const (
	accessMask = 3          // O_ACCMODE
	pathFlag   = 0o10000000 // O_PATH
)

// openers lists the processes that have the inode st names open, or that
// wait on it as lockpipe does, and counts those /proc does not let this one see.
func openers(st *syscall.Stat_t) (list []opener, unseen int) {
	pids, _ := listDir("/proc")
	self := syscall.Getpid()
	for _, name := range pids {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		dir := "/proc/" + name
		fds, err := listDir(dir + "/fd")
		if err != nil {
			if err == syscall.EACCES || err == syscall.EPERM {
				unseen++
			}
			continue
		}
		for _, fd := range fds {
			var fst syscall.Stat_t
			if syscall.Stat(dir+"/fd/"+fd, &fst) != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
				continue
			}
			if o, ok := openerOf(pid, dir, fd); ok {
				list = append(list, o)
			}
		}
	}
	// A waiter that has the pipe open (every reader once it waits) is listed once, as that.
	for i := 0; i < len(list); i++ {
		for _, o := range list {
			if list[i].handle && o.pid == list[i].pid && !o.handle {
				list = append(list[:i], list[i+1:]...)
				i--
				break
			}
		}
	}
	held := false
	for _, o := range list {
		held = held || o.writes()
	}
	for i, o := range list {
		if o.role == "reader" && o.waits && o.how == "open" { // a lockpipe reader, in open(2) with its own descriptor held
			list[i].how = "waiting"
			if held {
				list[i].how = "reading"
			}
		}
	}
	return list, unseen
}

// openerOf describes how process pid has the pipe open at descriptor fd.
func openerOf(pid int, dir, fd string) (opener, bool) {
	args := argsOf(dir)
	o := opener{pid: pid, how: "open", cmd: strings.Join(args, " ")}
	switch commandWord(args) {
	case "read", "r", "run", "write", "w":
		o.waits = true
	}
	flags := uint64(0)
	if b, err := readFile(dir + "/fdinfo/" + fd); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "flags:"); ok {
				flags, _ = strconv.ParseUint(trimSpace(v), 8, 64)
			}
		}
	}
	switch {
	case flags&pathFlag != 0: // a handle: a lockpipe that waits on the pipe, if its command line says so
		o.how, o.handle = "waiting", true
		switch commandWord(args) {
		case "read", "r", "run":
			o.role = "reader"
		case "write", "w":
			o.role = "writer"
		default:
			return o, false
		}
	case flags&accessMask == syscall.O_RDWR:
		o.role = "holder"
	case flags&accessMask == syscall.O_WRONLY:
		o.role = "writer"
	default:
		o.role = "reader"
		if tasksIn(dir, "pipe_read") {
			o.how = "reading"
		}
	}
	return o, true
}

// tasksIn reports whether a thread of the process in dir sleeps in the kernel function fn.
func tasksIn(dir, fn string) bool {
	tasks, _ := listDir(dir + "/task")
	for _, t := range tasks {
		if wchan, _ := readFile(dir + "/task/" + t + "/wchan"); strings.HasSuffix(string(wchan), fn) {
			return true
		}
	}
	return false
}

// commandWord returns the command a lockpipe command line names: its first
// word that is neither an option nor an option's value, nor the binary that
// runs lockpipe (qemu-user's command line names both), before --.
func commandWord(args []string) string {
	for i := 1; i < len(args) && args[i] != "--"; i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			if !strings.Contains(a, "/") {
				return a
			}
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if o := findOption(name); o != nil && o.meta != "" && !hasValue {
			i++ // its value
		}
	}
	return ""
}

// argsOf returns a process's command line, one argument each.
func argsOf(dir string) []string {
	b, _ := readFile(dir + "/cmdline")
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// writersOf lists the PIDs of the processes that have the pipe st names open for writing.
func writersOf(st *syscall.Stat_t) (pids []string) {
	list, _ := openers(st)
	for _, o := range list {
		if o.writes() {
			pids = append(pids, strconv.Itoa(o.pid))
		}
	}
	return pids
}
