//go:build linux

package main

// The path watch: it tells a waiter when its path no longer leads to its
// pipe. The kernel says when to look at once: directory notifications
// (dnotify) on the pipe's directory, for the removals people make (rm, mv,
// delete, a pipe renamed over), and nothing else: not a file created,
// written or touched beside it. Every other way a path can stop leading to
// its pipe (a directory moved or made unsearchable, a link re-pointed, a
// mount gone, /proc/PID/root of a process that ended) is found by a look
// at the whole path 1, 4, 16 and 64 s into the wait, then every 2 minutes:
// each look wakes Go's runtime as well (about 4 context switches), and
// this keeps a waiter under 0.1 a second.
// dnotify takes nothing from the per-user budget of inotify instances that
// systemd, the kubelet and container runtimes need; where the directory
// cannot be read, the looks alone remain.

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// lookEvery is the longest interval between two looks at a waiter's path:
// the bound on noticing what the directory's notifications do not tell.
const lookEvery = 2 * time.Minute

// watch is the process's one path watch, on a thread of its own that sleeps
// in the kernel until a notification or the next look.
type watch struct {
	once    sync.Once
	tid     int
	mu      sync.Mutex
	waiters []*waiter // guarded by mu
	started time.Time // when the first waiter came; guarded by mu
}

// paths is the process's path watch.
var paths watch

// add starts watching the waiter's path through the directories it has
// opened; the watch then looks at the path once: what changed before the
// notifications began is found by that look.
func (wt *watch) add(wr *waiter) {
	wt.once.Do(func() {
		ready := make(chan int)
		go wt.loop(ready)
		wt.tid = <-ready
	})
	for i := 0; i < len(wr.dirs); i++ {
		if notifyDir(wr.dirs[i], wt.tid) != nil { // no dnotify here: the looks alone remain
			syscall.Close(wr.dirs[i])
			wr.dirs = append(wr.dirs[:i], wr.dirs[i+1:]...)
			i--
		}
	}
	wt.mu.Lock()
	if len(wt.waiters) == 0 {
		wt.started = time.Now()
	}
	wt.waiters = append(wt.waiters, wr)
	wt.mu.Unlock()
	interrupt(wt.tid)
}

// remove stops watching the waiter's path.
func (wt *watch) remove(wr *waiter) {
	for _, d := range wr.dirs {
		syscall.Close(d)
	}
	wr.dirs = nil
	wt.mu.Lock()
	defer wt.mu.Unlock()
	for i, x := range wt.waiters {
		if x == wr {
			wt.waiters = append(wt.waiters[:i], wt.waiters[i+1:]...)
			return
		}
	}
}

// next returns when the next look is due: 1, 4, 16 and 64 s after the
// first waiter came, then every lookEvery; far away while nobody waits.
func (wt *watch) next(now time.Time) time.Time {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	if len(wt.waiters) == 0 {
		return now.Add(24 * time.Hour)
	}
	for d := time.Second; d < lookEvery; d *= 4 {
		if t := wt.started.Add(d); t.After(now) {
			return t
		}
	}
	since := now.Sub(wt.started) - 64*time.Second
	return now.Add(lookEvery - since%lookEvery)
}

// loop is the watch's thread: it sleeps until a directory's notification
// or the next look, then looks at every waiter's path. A look may hang on a
// file system that stopped answering; the deadline does not wait for it.
func (wt *watch) loop(ready chan<- int) {
	runtime.LockOSThread() // for good: the notifications are sent to this thread
	interruptible()
	nameThread("lockpipe watch")
	ready <- syscall.Gettid()
	for {
		sleepUntil(wt.next(time.Now()))
		wt.mu.Lock()
		ws := append([]*waiter(nil), wt.waiters...)
		wt.mu.Unlock()
		for _, wr := range ws {
			if !wr.h.leads() {
				wr.markGone()
			}
		}
	}
}
