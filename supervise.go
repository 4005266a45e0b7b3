//go:build linux

package main

// Lifetimes: hold keeps pipes held while CMD runs as its child, and records
// how CMD ended; run runs CMD as its child until its pipes release it, then
// stops CMD's process group.

import (
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// supervision is CMD run as lockpipe's child: by hold for as long as it
// lives, by run until the pipe releases it.
type supervision struct {
	argv    []string
	path    string         // PATH, to find CMD in
	group   bool           // signals go to CMD's process group (run)
	release func() error   // run: the wait on the pipes; nil for hold
	stop    syscall.Signal // run: what stops CMD's group once released
	grace   time.Duration  // run: how long before SIGKILL; 0: at once
	pid     int
	reaper  bool // run: CMD's orphans come to lockpipe, which sees them end
}

// start starts CMD in a process group of its own, with no descriptor of
// lockpipe's, killed with SIGKILL if lockpipe is.
func (s *supervision) start() error {
	file, err := lookPath(s.argv[0], s.path)
	if err != nil {
		return err
	}
	startReaper()
	if s.group {
		// CMD's orphans come to lockpipe, which then sees its whole group end.
		err := prctl(prSetChildReaper, 1)
		if s.reaper = err == nil; !s.reaper {
			warn("cannot become the reaper of what CMD forks (" + err.Error() + "); run looks for the end of its group now and then instead")
		}
	}
	runtime.LockOSThread() // for good: PR_SET_PDEATHSIG follows the thread that forks, not the process
	sys := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if pgrp, err := foreground(); err == nil && pgrp == syscall.Getpgrp() {
		sys.Foreground, sys.Ctty = true, 0 // the terminal's signals go to CMD, once
	}
	signals.mu.Lock()
	children.mu.Lock()
	s.pid, err = syscall.ForkExec(file, s.argv, &syscall.ProcAttr{Env: syscall.Environ(), Files: []uintptr{0, 1, 2}, Sys: sys})
	if err == nil {
		children.pid, signals.target = s.pid, s.pid
		if s.group {
			signals.target = -s.pid
		}
	}
	children.mu.Unlock()
	signals.mu.Unlock()
	if err != nil {
		return cannotRun(s.argv[0], err)
	}
	info("started " + strconv.Quote(s.argv[0]) + " as PID " + strconv.Itoa(s.pid))
	return nil
}

// foreground returns the foreground process group of the terminal on standard input.
func foreground() (int, error) {
	var pgrp int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp)))
	if e != 0 {
		return 0, e
	}
	return int(pgrp), nil
}

// run starts CMD and waits for it, or for its release, and returns lockpipe's
// status and, when CMD ended, how.
func (s *supervision) run() (record, error) {
	if err := s.start(); err != nil {
		return record{how: "exit", n: exitStatus(err)}, err
	}
	released := make(chan error, 1)
	if s.release != nil {
		go func() { released <- s.release() }()
	}
	select {
	case ws := <-children.ended:
		return s.ended(ws)
	case err := <-released:
		return record{}, s.stopGroup(err)
	}
}

// ended reports CMD's end and returns how it ended, and its status as lockpipe's.
func (s *supervision) ended(ws syscall.WaitStatus) (record, error) {
	r := record{how: "exit", n: ws.ExitStatus()}
	if ws.Signaled() {
		r = record{how: "signal", n: int(ws.Signal())}
	}
	how := "exited with status " + strconv.Itoa(r.n)
	if ws.Signaled() {
		how = "was ended by " + signalName(ws.Signal()) + " (status " + strconv.Itoa(r.status()) + ")"
	}
	info(strconv.Quote(s.argv[0]) + " (PID " + strconv.Itoa(s.pid) + ") " + how)
	return r, statusOnly(r.status())
}

// killWait is how long run waits for its group to end after SIGKILL: the
// kernel ends a killed process at once, unless it is blocked where it
// cannot be woken.
const killWait = time.Second

// stopGroup stops CMD's process group once run is released, timed out or
// failed to wait, and returns once CMD has ended and its group is gone, or
// is still there killWait after SIGKILL: 0 when released, else the wait's
// own status (110 after a timeout).
func (s *supervision) stopGroup(why error) error {
	if why != nil && why.Error() != "" {
		level := levelError
		if f, ok := why.(*failure); ok {
			level = f.level
		}
		logAt(level, why.Error())
		why = statusOnly(exitStatus(why))
	}
	group := strconv.Itoa(s.pid)
	syscall.Kill(-s.pid, s.stop)
	info("stopping " + strconv.Quote(s.argv[0]) + ": sent " + signalName(s.stop) + " to its process group " + group)
	graceUp := after(s.grace)
	var killUp <-chan struct{}
	var look <-chan struct{} // without the reaper, nothing tells run that the group's last process ended
	for cmdEnded, gaveUp, every := false, false, 10*time.Millisecond; ; {
		if cmdEnded && (gaveUp || syscall.Kill(-s.pid, 0) == syscall.ESRCH) {
			return why
		}
		if cmdEnded && !s.reaper && look == nil {
			look, every = after(every), min(2*every, time.Second)
		}
		select {
		case ws := <-children.ended:
			s.ended(ws)
			cmdEnded = true
		case <-children.reaped:
		case <-look:
			look = nil
		case <-graceUp:
			graceUp, killUp = nil, after(killWait)
			if syscall.Kill(-s.pid, syscall.SIGKILL) == nil {
				info("sent SIGKILL to process group " + group + ", still there after " + s.grace.String())
			}
		case <-killUp:
			killUp, gaveUp = nil, true
			if syscall.Kill(-s.pid, 0) != syscall.ESRCH {
				warn("process group " + group + " still there " + killWait.String() + " after SIGKILL")
			}
		}
	}
}

// held is a pipe hold holds: its handle and its descriptor, open for reading and writing.
type held struct {
	h  *handle
	fd int
}

// holdOpen makes sure the named pipe is at path and opens it for reading
// and writing, which never blocks: its readers see end-of-file only once the
// last holder's descriptor closes, however its process ended. Then it
// records the hold beside the pipe, for readers that come after it ends.
func holdOpen(path string, mode uint32) (held, error) {
	h, err := ensure(path, mode)
	if err != nil {
		return held{}, err
	}
	others := writersNow(h)
	fd, err := h.reopen(syscall.O_RDWR)
	if err != nil {
		h.close()
		return held{}, sysError("open pipe at", path, err)
	}
	h.beginHold(others)
	return held{h, fd}, nil
}

// writersNow reports whether the pipe has a writer now (another hold),
// without reading what may wait in it and without waiting.
func writersNow(h *handle) bool {
	fd, err := h.reopen(syscall.O_RDONLY | syscall.O_NONBLOCK)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	if n, err := fionread(fd); err != nil || n > 0 {
		return n > 0
	}
	var b [1]byte
	_, err = syscall.Read(fd, b[:])
	return err == syscall.EAGAIN
}

// fionread returns how many bytes wait to be read from fd.
func fionread(fd int) (int, error) {
	var n int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); e != 0 {
		return 0, e
	}
	return int(n), nil
}

// runHold holds the pipes open for writing while CMD runs, or until a signal,
// then records how CMD ended and lets them go.
func runHold(inv *invocation) error {
	var pipes []held
	for _, p := range inv.req.paths {
		hp, err := holdOpen(p, inv.req.mode)
		if err != nil {
			return err
		}
		pipes = append(pipes, hp)
	}
	end := func(r record) {
		for _, hp := range pipes {
			hp.h.endHold(r)
		}
	}
	q := quoteList(inv.req.paths)
	setDoing("holding pipe at", q)
	exactLog()
	signals.mu.Lock()
	signals.onEnd = func(sig syscall.Signal) { end(record{how: "signal", n: int(sig)}) }
	signals.mu.Unlock()
	catchSignals()
	if len(inv.exec) == 0 {
		info("holding pipe at " + q + " until a signal")
		select {}
	}
	info("holding pipe at " + q + " while " + strconv.Quote(inv.exec[0]) + " runs")
	s := supervision{argv: inv.exec, path: getenv("PATH")}
	r, err := s.run()
	end(r)
	return err
}

// runRun runs CMD until the pipes release it, then stops CMD's process group.
// What can fail before the wait is checked before CMD starts.
func runRun(inv *invocation) error {
	r := inv.req
	for _, p := range r.paths {
		h, err := ensure(p, r.mode)
		if err != nil {
			return err
		}
		if err := syscall.Faccessat(atFdcwd, procSelfFd+strconv.Itoa(h.fd), rOK, atEaccess); procfs() && err != nil {
			return sysError("open pipe at", p, err)
		}
		r.taken = append(r.taken, h)
	}
	catchSignals()
	exactLog()
	s := supervision{argv: inv.exec, path: getenv("PATH"), group: true, stop: inv.stop, grace: inv.grace,
		release: func() error { _, err := await(&r, true); return err }}
	_, err := s.run()
	return err
}
