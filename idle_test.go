package main

// A waiting lockpipe costs nothing: no wakeup while nothing happens, none
// for what happens beside its pipe, and no inotify instance taken from the
// other programs of its user.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIdleWaitSleeps checks that a waiting lockpipe is woken by nothing while
// nothing happens: between two of the path watch's looks (1, 4, 16 and 64 s
// into the wait, then every 2 minutes), no thread of it is scheduled over a
// second and a half.
func TestIdleWaitSleeps(t *testing.T) {
	t.Parallel()
	needNative(t)
	for _, args := range [][]string{{"read"}, {"write"}, {"read", "-t", "1h"}, {"hold"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			c := spawn(t, nil, append(args, "-p", p)...)
			if args[0] == "hold" {
				waitFor(t, "holding", func() bool { return holds(c.pid(), p) })
			} else {
				blocked(t, c.pid())
			}
			waitFor(t, "the look 4 s into the wait done", func() bool { return age(t, c.pid()) > 4500*time.Millisecond })
			settled(t, c.pid())
			before := switches(t, c.pid())
			time.Sleep(1500 * time.Millisecond) // the window observed, not a synchronisation
			if after := switches(t, c.pid()); after != before {
				t.Errorf("woken while idle: %d context switches in 1.5 s", after-before)
			}
		})
	}
}

// TestInotifyLeftToOthers starts more waiters of one user than that user
// may have inotify instances (fs.inotify.max_user_instances), then checks
// that another process of the user can still take one: lockpipe takes none.
func TestInotifyLeftToOthers(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needNative(t)
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_instances")
	must(t, err)
	limit := atoiBase(strings.TrimSpace(string(b)))
	if limit > 2048 {
		t.Skipf("fs.inotify.max_user_instances is %d here: too many waiters to start", limit)
	}
	dir := t.TempDir()
	must(t, os.Chmod(dir, 0o777))
	os.Chmod(filepath.Dir(dir), 0o755)
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var waiters []*child
	for i := 0; i < limit+2; i++ {
		c := newChild(nil, bin, "read", "-p", filepath.Join(dir, fmt.Sprintf("p%d", i)))
		c.cmd.SysProcAttr = nobody
		waiters = append(waiters, c.start(t))
	}
	for _, c := range waiters {
		blocked(t, c.pid())
	}
	self, err := os.ReadFile(os.Args[0]) // this test binary, where the other user may run it
	must(t, err)
	check := filepath.Join(t.TempDir(), "check")
	writeExecutable(t, check, self)
	os.Chmod(filepath.Dir(check), 0o755)
	c := newChild([]string{"LOCKPIPE_TEST_INOTIFY=1"}, check)
	c.cmd.SysProcAttr = nobody
	if st := c.start(t).status(t); st != 0 {
		t.Errorf("with %d waiters of one user, another process of it cannot take an inotify instance: %q", len(waiters), c.stderr.String())
	}
}

// TestBusyDirectory checks that what happens beside a waiting pipe, short of
// a name removed or renamed, wakes nobody: 300 files created, touched and
// made executable between two of the watch's looks cost a waiter nothing.
func TestBusyDirectory(t *testing.T) {
	t.Parallel()
	needNative(t)
	p := pipePath(t)
	c := spawn(t, nil, "read", "-p", p)
	blocked(t, c.pid())
	waitFor(t, "the look 4 s into the wait done", func() bool { return age(t, c.pid()) > 4500*time.Millisecond })
	settled(t, c.pid())
	before := switches(t, c.pid())
	for i := 0; i < 100; i++ {
		f := filepath.Join(filepath.Dir(p), fmt.Sprintf("f%d", i))
		must(t, os.WriteFile(f, nil, 0o644))
		must(t, os.Chtimes(f, time.Now(), time.Now()))
		must(t, os.Chmod(f, 0o755))
	}
	if after := switches(t, c.pid()); after != before {
		t.Errorf("300 changes beside the pipe cost the waiter %d context switches", after-before)
	}
}

// age returns how long ago process pid started, or 0 once it is gone.
func age(t testing.TB, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	start, _ := strconv.ParseFloat(fields[19], 64) // starttime, in clock ticks (100 a second on Linux)
	up, err := os.ReadFile("/proc/uptime")
	must(t, err)
	now, _ := strconv.ParseFloat(strings.Fields(string(up))[0], 64)
	return time.Duration((now - start/100) * float64(time.Second))
}

// switches sums the context switches of every thread of pid.
func switches(t testing.TB, pid int) uint64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	var n uint64
	for _, task := range tasks {
		var tid int
		fmt.Sscan(filepath.Base(task), &tid)
		b, err := os.ReadFile(task + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			var v uint64
			if _, err := fmt.Sscanf(l, "voluntary_ctxt_switches: %d", &v); err == nil {
				n += v
			}
			if _, err := fmt.Sscanf(l, "nonvoluntary_ctxt_switches: %d", &v); err == nil {
				n += v
			}
		}
	}
	return n
}

// settled polls until every thread of pid sleeps and none was scheduled between two looks.
func settled(t testing.TB, pid int) {
	last := ^uint64(0)
	waitFor(t, "every thread asleep", func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
		for _, task := range tasks {
			if s := procState(atoiBase(filepath.Base(task))); s != "S" {
				return false
			}
		}
		n := switches(t, pid)
		quiet := n == last
		last = n
		time.Sleep(50 * time.Millisecond) // between the two looks
		return quiet
	})
}
