//go:build linux

package main

// The path watch: what tells a waiter that its path may no longer lead to
// its pipe, so that it looks. The kernel tells it, by the very signal that
// interrupts its blocking call, sent to its own thread (a writer's goes to
// its looker, which looks while the writer stays in open(2)): directory
// notifications (dnotify) on the pipe's directory, for the removals people
// make (rm, mv, delete, a pipe renamed over), and nothing else: not a file
// created, written or touched beside it; and a timer, for every other way a
// path can stop leading to its pipe (a directory moved or made
// unsearchable, a link re-pointed, a mount gone, /proc/PID/root of a
// process that ended), found by a look at the whole path 1, 4, 16 and 64 s
// into the wait, then every 2 minutes. Each look wakes Go's runtime as well
// (about 4 context switches); this keeps a waiter under 0.1 a second.
// dnotify takes nothing from the per-user budget of inotify instances that
// systemd, the kubelet and container runtimes need; where the directory
// cannot be read, the looks alone remain.

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// lookEvery is the longest interval between two looks at a waiter's path:
// the bound on noticing what the directory's notifications do not tell.
const lookEvery = 2 * time.Minute

// watch is one waiter's path watch. It begins with home and timer -1: a
// waiter that ends before it looks at its path (a writer that met its reader
// at once) has nothing to let go, and must close no descriptor 0 nor delete
// timer 0, which may be another waiter's or CMD's standard input.
type watch struct {
	dirs  []int         // the directories whose changes interrupt the waiter
	home  int           // the pipe's own directory, open, or -1: dirs[0] when there
	timer int           // the kernel timer of the looks; -1 without one
	since time.Time     // when the waiter began to block
	phase time.Duration // where in each lookEvery its looks come, after the first minute
}

// open opens the directories to be notified of: the pipe's own, and the
// path's when it ends in a link. A directory that cannot be read is left
// to the looks.
func (wt *watch) open(h *handle, dir string) {
	wt.timer, wt.home = -1, -1
	for i, d := range []string{dir, parent(h.path)} {
		if i > 0 && d == dir {
			continue
		}
		if fd, err := syscall.Open(d, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0); err == nil {
			wt.dirs = append(wt.dirs, fd)
			if i == 0 {
				wt.home = fd
			}
		}
	}
}

// start sends the notifications and the timer to the thread tid, where the
// waiter blocks; where either cannot be had, the other remains.
func (wt *watch) start(tid int) {
	for i := 0; i < len(wt.dirs); i++ {
		if notifyDir(wt.dirs[i], tid) != nil {
			if wt.dirs[i] == wt.home { // still open: the record is read there
				wt.dirs = append(wt.dirs[:i], wt.dirs[i+1:]...)
				i--
				continue
			}
			syscall.Close(wt.dirs[i])
			wt.dirs = append(wt.dirs[:i], wt.dirs[i+1:]...)
			i--
		}
	}
	// Waiters that began together look apart: a thousand at once would contend for the CPU.
	wt.since, wt.phase = time.Now(), time.Duration(syscall.Getpid()%97)*lookEvery/97
	wt.timer, _ = threadTimer(tid)
	wt.rearm(wt.since)
}

// startLooker starts a writer's looker and returns its thread, where the
// watch sends its signal; 0 when it cannot have one, and the writer looks
// itself.
func (wr *waiter) startLooker() int {
	ready := make(chan int)
	go wr.look(ready)
	return <-ready
}

// look is a writer's looker: on a thread of its own, where the watch's
// signal is blocked but while it waits for it, it looks at the path each
// time the watch tells it to, and tells the writer once the path no longer
// leads to its pipe. So the writer stays in open(2): it cannot hold the pipe
// open while it looks, as a reader does, and a reader that came and went
// while it was out (released by another writer) would have left it waiting.
func (wr *waiter) look(ready chan<- int) {
	runtime.LockOSThread() // for good: the thread ends with the looker
	mask, err := blockSignal(interruptSignal)
	if err != nil || !waits(sigsuspend(&mask, true)) {
		ready <- 0 // a port where the wait fails at once would spin: the writer looks itself
		return
	}
	w, tid := wr.w, syscall.Gettid()
	w.mu.Lock()
	wr.looker = tid
	w.mu.Unlock()
	ready <- tid
	for {
		sigsuspend(&mask, false)
		w.mu.Lock()
		done := wr.phase != meeting
		if done {
			wr.looker = 0
		}
		w.mu.Unlock()
		switch {
		case done:
			return
		case !wr.h.leads():
			wr.tellMoved()
		default:
			w.mu.Lock()
			wr.watch.rearm(time.Now())
			w.mu.Unlock()
		}
	}
}

// waits reports whether a poll for a signal answered as a wait for one would.
func waits(err error) bool { return err == nil || err == syscall.EINTR }

// tellMoved tells the writer that its path no longer leads to its pipe,
// again every 10 ms until it answers, as interruptAll does.
func (wr *waiter) tellMoved() {
	w := wr.w
	for try := 0; try < 100; try++ {
		w.mu.Lock()
		wr.away = true
		tid, waiting := wr.tid, wr.phase == meeting
		w.mu.Unlock()
		if !waiting {
			return
		}
		interrupt(tid)
		nap(10 * time.Millisecond)
	}
}

// moved reports whether the path no longer leads to the pipe: as its looker
// found, or by a look of the waiter's own, before it first blocks and
// whenever it has no looker (a reader).
func (wr *waiter) moved(first bool) bool {
	wr.w.mu.Lock()
	away, own := wr.away, wr.looker == 0
	wr.w.mu.Unlock()
	if first || own {
		return wr.gone()
	}
	return away
}

// gone looks at the path, and reports whether it no longer leads to the
// pipe; then it sets the watch's timer for the next look.
func (wr *waiter) gone() bool {
	if !wr.h.leads() {
		return true
	}
	wr.watch.rearm(time.Now())
	return false
}

// next returns when the look after now is due: 1, 4, 16 and 64 s into
// the wait, then every lookEvery, from its phase on.
func (wt *watch) next(now time.Time) time.Time {
	for d := time.Second; d < lookEvery; d *= 4 {
		if t := wt.since.Add(d); t.After(now) {
			return t
		}
	}
	first := wt.since.Add(64*time.Second + wt.phase)
	if !first.After(now) {
		return now.Add(lookEvery - now.Sub(first)%lookEvery)
	}
	return first
}

// rearm sets the timer for the next look after now.
func (wt *watch) rearm(now time.Time) {
	if wt.timer >= 0 {
		setTimer(wt.timer, wt.next(now).Sub(now))
	}
}

// stop lets the directories and the timer go.
func (wt *watch) stop() {
	for _, d := range wt.dirs {
		if d != wt.home {
			syscall.Close(d)
		}
	}
	if wt.home >= 0 {
		syscall.Close(wt.home)
	}
	wt.dirs, wt.home = nil, -1
	if wt.timer >= 0 {
		syscall.Syscall(syscall.SYS_TIMER_DELETE, uintptr(wt.timer), 0, 0)
		wt.timer = -1
	}
}

// sigevent is struct sigevent for SIGEV_THREAD_ID: the same layout on every
// port after a pointer-sized value, padded to at least the kernel's 64 bytes.
type sigevent struct {
	value  uintptr
	signo  int32
	notify int32
	tid    int32
	_      [12]int32
}

// threadTimer creates a timer that sends interruptSignal to the thread tid (timer_create with SIGEV_THREAD_ID).
func threadTimer(tid int) (int, error) {
	ev := sigevent{signo: int32(interruptSignal), notify: sigevThreadID, tid: int32(tid)}
	var id int32
	if _, _, e := syscall.Syscall(syscall.SYS_TIMER_CREATE, clockMonotonic, uintptr(unsafe.Pointer(&ev)), uintptr(unsafe.Pointer(&id))); e != 0 {
		return -1, e
	}
	return int(id), nil
}

// setTimer arms the timer to fire once, d from now.
func setTimer(id int, d time.Duration) {
	spec := [2]syscall.Timespec{{}, syscall.NsecToTimespec(int64(max(d, time.Millisecond)))} // interval, value
	syscall.Syscall6(syscall.SYS_TIMER_SETTIME, uintptr(id), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}
