package main

// The wait always ends and costs nothing: --timeout at the deadline and
// through a writer that stays, the pipe leaving its path in every way, a
// file system that stops answering, and few descriptors.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTimeout checks --timeout in every form, that 0 and infinity wait, and that a rendezvous in time is success.
func TestTimeout(t *testing.T) {
	t.Parallel()
	withRace(t, func(t *testing.T, b string) {
		expired := []struct {
			env  []string
			args []string
			says string
		}{
			{nil, []string{"read", "-t", "200ms"}, "timed out after 200ms while reading from pipe at"},
			{nil, []string{"write", "--timeout=0.2"}, "timed out after 200ms while writing to pipe at"},
			{[]string{"LOCKPIPE_TIMEOUT=0.1"}, []string{"r"}, "timed out after 100ms while reading from pipe at"},
			{[]string{"LOCKPIPE_TIMEOUT=1h"}, []string{"w", "-t", "0.05"}, "timed out after 50ms while writing to pipe at"},
		}
		var cs []*child
		var ps []string
		for _, c := range expired { // a pipe each: a reader and a writer on one would meet
			ps = append(ps, pipePath(t))
			// Made first: a deadline this short may come before the waiter has made it.
			lockpipe(t, nil, "create", "-p", ps[len(ps)-1])
			cs = append(cs, spawnWith(t, b, c.env, append(c.args, "-p", ps[len(ps)-1])...))
		}
		for i, c := range cs {
			if st := c.status(t); st != 110 || !strings.HasSuffix(c.stderr.String(), fmt.Sprintf("[WARN  lockpipes] %s %q\n", expired[i].says, ps[i])) {
				t.Errorf("%v %v: status %d, stderr %q", expired[i].env, expired[i].args, st, c.stderr.String())
			}
			if !isPipe(ps[i]) {
				t.Error("a timeout removed the pipe")
			}
		}
		p := ps[0]
		// 0 and infinity must not mean "at once": each still waits once the others above have timed out.
		var forever []*child
		for _, limit := range []string{"0", "infinity", "0s", "INF"} {
			forever = append(forever, spawnWith(t, b, []string{"LOCKPIPE_TIMEOUT=" + limit}, "read", "-p", p))
		}
		for _, r := range forever {
			blocked(t, r.pid())
		}
		lockpipe(t, nil, "write", "-p", p)
		for _, r := range forever {
			if st := r.status(t); st != 0 {
				t.Errorf("%v: status %d", r.cmd.Env[len(r.cmd.Env)-1], st)
			}
		}
		w := spawnWith(t, b, nil, "write", "-t", "1h", "-p", p)
		blocked(t, w.pid())
		if st, _, _ := lockpipeWith(t, b, nil, "read", "--timeout", "90s", "-p", p); st != 0 || w.status(t) != 0 {
			t.Errorf("a rendezvous within the timeout: read %d, write %d", st, w.status(t))
		}
	})
}

// TestTimeoutAtDeadline brings a partner at a waiter's deadline, many times.
// Whatever the waiter reports must be true: 0 only if the partner was
// released, 110 only if it was not, so that it is still waiting; never a hang.
func TestTimeoutAtDeadline(t *testing.T) {
	t.Parallel()
	for _, side := range [][2]string{{"read", "write"}, {"write", "read"}} {
		t.Run(side[0], func(t *testing.T) {
			t.Parallel()
			outcomes := map[int]int{}
			for i := 0; i < 20; i++ {
				p := pipePath(t)
				lockpipe(t, nil, "create", "-p", p)
				w := spawn(t, nil, side[0], "-t", "40ms", "-p", p)
				// Blocked, or already timed out on a loaded machine: either way the partner comes late.
				waitFor(t, "the waiter blocked or gone", func() bool { waits, exists := waiting(w.pid()); return waits || !exists })
				// Not synchronisation: the partner's start is swept across the deadline on purpose.
				time.Sleep(time.Duration(25+3*i/2) * time.Millisecond)
				partner := spawn(t, nil, side[1], "-p", p)
				st := w.status(t)
				outcomes[st]++
				switch st {
				case 0:
					if pst := partner.status(t); pst != 0 {
						t.Errorf("round %d: succeeded but the partner ended %d", i, pst)
					}
				case 110:
					blocked(t, partner.pid()) // fails if the partner was released and exited
					if st, _, _ := lockpipe(t, nil, side[0], "-p", p); st != 0 || partner.status(t) != 0 {
						t.Errorf("round %d: releasing the waiting partner failed", i)
					}
				default:
					t.Errorf("round %d: ended %d: %q", i, st, w.stderr.String())
				}
			}
			t.Logf("--timeout outcomes by status: %v", outcomes)
			if outcomes[110] == 0 {
				t.Errorf("no round timed out: %v", outcomes)
			}
		})
	}
}

// TestGiveUpLetsNobodyIn holds a reader that timed out in a system call it
// makes on its way out (strace delays timer_delete, the watch's last): a
// writer that comes then must not be let in by the descriptor the reader
// held while it waited, so it still waits when the reader has said 110.
func TestGiveUpLetsNobodyIn(t *testing.T) {
	t.Parallel()
	needNative(t) // the system call's number is this machine's
	p := pipePath(t)
	lockpipe(t, nil, "create", "-p", p)
	s := traced(t, filepath.Join(t.TempDir(), "log"), "timer_delete:delay_enter=3000000", "read", "-t", "100ms", "-p", p)
	var r int
	waitFor(t, "the reader on its way out", func() bool {
		r = onlyChild(s.pid())
		return r > 0 && inCall(r, syscall.SYS_TIMER_DELETE)
	})
	w := spawn(t, nil, "write", "-p", p)
	if st := s.status(t); st != 110 {
		t.Errorf("the reader: status %d, %q", st, s.stderr.String())
	}
	blocked(t, w.pid()) // fails if the writer was let in and ended
	release(t, w.pid(), "read", p)
	if st := w.status(t); st != 0 {
		t.Errorf("the writer: status %d", st)
	}
}

// inCall reports whether a thread of pid is in system call nr.
func inCall(pid, nr int) bool {
	calls, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	for _, c := range calls {
		b, _ := os.ReadFile(c)
		if f := strings.Fields(string(b)); len(f) > 0 && f[0] == strconv.Itoa(nr) {
			return true
		}
	}
	return false
}

// writeAcross opens the named pipe p for writing and closes it d later. No
// other test may start a process meanwhile: a child of this binary holds a
// copy of the descriptor from its fork to its exec, and the kernel would
// count it as a writer after the close.
func writeAcross(p string, d time.Duration) (opened, closed time.Time, err error) {
	syscall.ForkLock.RLock() // what Go's fork takes for writing
	defer syscall.ForkLock.RUnlock()
	opened = time.Now()
	fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_CLOEXEC, 0) // the reader waits: it does not block
	if err != nil {
		return opened, opened, err
	}
	time.Sleep(time.Until(opened.Add(d)))
	syscall.Close(fd)
	return opened, time.Now(), nil
}

// TestTimeoutGrace checks the grace of a writer that came just before the
// deadline: one that opened before it and closed within 100 ms of opening
// was released, so the reader passes (0), though the writer closed after
// the deadline. A round where this machine could not place the writer so is
// not counted.
func TestTimeoutGrace(t *testing.T) {
	t.Parallel()
	counted := 0
	for round := 0; round < 10 && counted < 3; round++ {
		p := pipePath(t)
		lockpipe(t, nil, "create", "-p", p)
		spawned := time.Now() // the reader's deadline is a second after this, or later
		r := spawn(t, nil, "read", "-t", "1s", "-p", p)
		blocked(t, r.pid())
		time.Sleep(time.Until(spawned.Add(940 * time.Millisecond))) // not a synchronisation: the writer is placed
		opened, closed, err := writeAcross(p, 90*time.Millisecond)
		must(t, err)
		st := r.status(t)
		if opened.After(spawned.Add(time.Second)) || closed.Sub(opened) >= 100*time.Millisecond {
			continue
		}
		counted++
		if st != 0 {
			t.Errorf("a writer opened %v after the reader started and closed %v later: the reader ended %d, stderr %q",
				opened.Sub(spawned), closed.Sub(opened), st, r.stderr.String())
		}
	}
	if counted == 0 {
		t.Error("no round could place the writer before the deadline")
	}
}

// TestTimeoutWithSIGALRMBlocked checks that --timeout works whatever signal mask lockpipe inherits.
func TestTimeoutWithSIGALRMBlocked(t *testing.T) {
	t.Parallel()
	needNative(t)
	for _, cmd := range []string{"read", "write"} {
		p := pipePath(t)
		c := newChild([]string{"LOCKPIPE_TEST_BLOCK_SIGALRM=" + strings.Join([]string{bin, cmd, "-t", "10m", "-p", p}, "\x1f")}, os.Args[0]).start(t)
		waitFor(t, "lockpipe started", func() bool {
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.pid()))
			return exe == bin
		})
		pid := c.pid()
		blocked(t, pid)
		// The waiting thread unblocks it for itself; the threads Go started keep the mask lockpipe inherited.
		if !anyThreadBlocks(pid, syscall.SIGALRM) {
			t.Fatalf("%s: no thread of lockpipe has SIGALRM blocked: the mask was not inherited", cmd)
		}
		// A deadline of 10 minutes is far away; the removal of the pipe interrupts the wait the same way.
		must(t, os.Remove(p))
		if st := c.status(t); st != 0 || !strings.Contains(c.stderr.String(), "pipe removed while") {
			t.Errorf("%s: status %d, stderr %q", cmd, st, c.stderr.String())
		}
	}
}

// anyThreadBlocks reports whether a thread of pid has sig blocked.
func anyThreadBlocks(pid int, sig syscall.Signal) bool {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "SigBlk:\t"); ok {
				if n, _ := strconv.ParseUint(v, 16, 64); n&(1<<(sig-1)) != 0 {
					return true
				}
			}
		}
	}
	return false
}

// lookBound is the contract for what the directory's notifications do not
// tell: found by a look of the path watch within 2 minutes.
const lookBound = 2 * time.Minute

// noticed is how the path watch learns that a path changed.
type noticed int

const (
	byEvent noticed = iota // the directory's notifications: at once
	byLook                 // a look at the whole path: within lookBound
)

// TestRemoval checks that a waiter whose path no longer leads to its pipe, in
// any way, is released with 0 and one INFO line: while it waits in open(2),
// and while a writer that stays holds it in read(2). What the directories'
// notifications tell (rm, mv, a rename over the pipe or its link) is noticed
// at once: the change is made after the watch's first look (1 s into the
// wait), and the waiter must be gone before its next (4 s). Everything else
// is noticed by a look, within the bound the README states.
func TestRemoval(t *testing.T) {
	t.Parallel()
	type layout struct{ top, dir, link, path string } // the directory, a link to it, and the path the waiter uses
	plain := func(t *testing.T) layout {
		top := t.TempDir()
		d := filepath.Join(top, "d")
		must(t, os.Mkdir(d, 0o755))
		return layout{top, d, "", filepath.Join(d, "pipe")}
	}
	linked := func(t *testing.T) layout {
		l := plain(t)
		l.link = filepath.Join(l.top, "link")
		must(t, os.Symlink(l.dir, l.link))
		l.path = filepath.Join(l.link, "pipe")
		return l
	}
	repoint := func(t *testing.T, l layout, target string) {
		must(t, os.Symlink(target, l.link+".new"))
		must(t, os.Rename(l.link+".new", l.link))
	}
	ways := []struct {
		name   string
		how    noticed
		make   func(t *testing.T) layout
		remove func(t *testing.T, l layout)
		other  bool // the waiter runs as another user
	}{
		{"rm", byEvent, plain, func(t *testing.T, l layout) { must(t, os.Remove(l.path)) }, false},
		{"rename over", byEvent, plain, func(t *testing.T, l layout) {
			must(t, os.WriteFile(l.path+".new", []byte("x"), 0o644))
			must(t, os.Rename(l.path+".new", l.path))
		}, false},
		{"rename away", byEvent, plain, func(t *testing.T, l layout) { must(t, os.Rename(l.path, l.path+".away")) }, false},
		{"new pipe too", byEvent, plain, func(t *testing.T, l layout) { must(t, os.Remove(l.path)); must(t, syscall.Mkfifo(l.path, 0o600)) }, false},
		{"directory moved", byLook, plain, func(t *testing.T, l layout) { must(t, os.Rename(l.dir, l.dir+".moved")) }, false},
		{"ancestor moved", byLook, plain, func(t *testing.T, l layout) { must(t, os.Rename(l.top, l.top+".moved")) }, false},
		{"link re-pointed", byLook, linked, func(t *testing.T, l layout) { repoint(t, l, t.TempDir()) }, false},
		{"link into a loop", byLook, linked, func(t *testing.T, l layout) { repoint(t, l, l.link) }, false},
		{"link to a long name", byLook, linked, func(t *testing.T, l layout) { repoint(t, l, strings.Repeat("n", 300)) }, false},
		{"directory made private", byLook, plain, func(t *testing.T, l layout) {
			must(t, os.Rename(l.dir, l.dir+".old"))
			must(t, os.Mkdir(l.dir, 0o700))
		}, true},
		{"ancestor made unsearchable", byLook, plain, func(t *testing.T, l layout) { must(t, os.Chmod(l.top, 0o700)) }, true},
		{"directory moved under a search-only one", byLook, plain, func(t *testing.T, l layout) {
			must(t, os.Rename(l.dir, l.dir+".moved"))
		}, true},
		{"bind mount unmounted", byLook, nil, nil, true},
	}
	for _, way := range ways {
		for _, cmd := range []string{"read", "write", "read with a writer that stays"} {
			t.Run(way.name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				if way.other {
					needRoot(t, "unshare", "mount")
				}
				if way.make == nil {
					removalByUnmount(t, cmd)
					return
				}
				l := way.make(t)
				os.Chmod(l.top, 0o755)
				os.Chmod(filepath.Dir(l.top), 0o755) // for the other user
				if strings.Contains(way.name, "search-only") {
					must(t, os.Chmod(l.top, 0o711)) // as home directories are: the other user cannot list it
				}
				lockpipe(t, nil, "create", "-m", "0666", "-p", l.path)
				if strings.Contains(cmd, "stays") {
					stayingWriter(t, l.path)
				}
				c := newChild(nil, bin, strings.Fields(cmd)[0], "-p", l.path)
				if way.other {
					c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
				}
				c.start(t)
				blocked(t, c.pid())
				if way.how == byEvent {
					waitFor(t, "the watch's first look done", func() bool { return age(t, c.pid()) > 1200*time.Millisecond })
				}
				way.remove(t, l)
				checkRemoved(t, c, strings.Fields(cmd)[0], l.path, way.how)
			})
		}
	}
}

// statusWithin waits up to d for the process, and fails the test if it is still running then.
func (c *child) statusWithin(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		t.Errorf("%v still running %v later; the contract says %v", c.cmd.Args, d, d)
	}
	return c.status(t)
}

// checkRemoved checks that c was released, with the removal's line: before
// the watch's next look when the change, just made, was one its
// directories' notifications tell, else within the looks' bound.
func checkRemoved(t *testing.T, c *child, cmd, p string, how noticed) {
	t.Helper()
	doing := map[string]string{"read": "reading from", "write": "writing to"}[cmd]
	st := 0
	if how == byEvent {
		next := nextLook(age(t, c.pid()))
		waitFor(t, "released", func() bool { return !c.running() || age(t, c.pid()) > next-200*time.Millisecond })
		if c.running() {
			t.Errorf("not released at once: still waiting when the watch's look %v into the wait comes", next)
		}
		st = c.status(t)
	} else {
		st = c.statusWithin(t, lookBound)
	}
	if st != 0 {
		t.Errorf("status %d, stderr %q", st, c.stderr.String())
	}
	if want := fmt.Sprintf("[INFO  lockpipes] pipe removed while %s pipe at %q; nothing left to wait for\n", doing, p); !strings.HasSuffix(c.stderr.String(), want) {
		t.Errorf("stderr %q, want it to end with %q", c.stderr.String(), want)
	}
}

// nextLook is when, at least 2 s after a (a waiter's age), the watch looks
// at its path (1, 4, 16 and 64 s into the wait): the change made at a, if
// its notifications tell it, must release the waiter before then, however
// slowly this machine (or qemu) runs.
func nextLook(a time.Duration) time.Duration {
	for _, l := range []time.Duration{time.Second, 4 * time.Second, 16 * time.Second, 64 * time.Second} {
		if l > a+2*time.Second {
			return l
		}
	}
	return a + lookBound
}

// removalByUnmount waits on a pipe in a directory bind-mounted over another, in a private mount namespace, and unmounts it.
func removalByUnmount(t *testing.T, cmd string) {
	under, over := t.TempDir(), t.TempDir()
	p := filepath.Join(under, "pipe")
	lockpipe(t, nil, "create", "-p", filepath.Join(over, "pipe"))
	stays := ""
	if strings.Contains(cmd, "stays") {
		stays = `exec 3<>"$2"; `
	}
	c := newChild(nil, "unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
		`mount --bind "$1" "$0" && `+stays+`"$3" "$4" -p "$2" & wait $!`, under, over, p, bin, strings.Fields(cmd)[0]).start(t)
	var pid int
	waitFor(t, "lockpipe started in the namespace", func() bool {
		pid = onlyChild(c.pid()) // unshare without --fork became the shell
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		return exe == bin
	})
	blocked(t, pid)
	// Lazily, as the waiter's own handle keeps the mount busy; the path then leads to what is under it.
	u := newChild(nil, "nsenter", "--target", fmt.Sprint(pid), "--mount", "umount", "-l", under).start(t)
	if st := u.status(t); st != 0 {
		t.Fatalf("umount: %d %s", st, u.stderr.String())
	}
	checkRemoved(t, c, strings.Fields(cmd)[0], p, byLook)
}

// stayingWriter keeps p open for writing from another process (a shell that then sleeps) until the test ends.
func stayingWriter(t *testing.T, p string) {
	h := newChild(nil, "/bin/sh", "-c", `exec 3<>"$0"; exec sleep 3600`, p).start(t)
	waitFor(t, "the writer that stays has the pipe open", func() bool {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", h.pid()))
		return holds(h.pid(), p) && !strings.HasSuffix(exe, "sh")
	})
}

// TestWriterThatStays checks the wait's guarantees while a writer keeps the
// pipe open: --timeout, delete and signals end the reader's wait in read(2),
// plain and as PID 1.
func TestWriterThatStays(t *testing.T) {
	t.Parallel()
	withRace(t, func(t *testing.T, b string) {
		p := pipePath(t)
		lockpipe(t, nil, "create", "-p", p)
		stayingWriter(t, p)
		if st, _, stderr := lockpipeWith(t, b, nil, "read", "-t", "300ms", "-p", p); st != 110 || !strings.HasSuffix(stderr, line("WARN", "timed out after 300ms while reading from pipe at", p)) {
			t.Errorf("--timeout: status %d, stderr %q", st, stderr)
		}
		r := spawnWith(t, b, nil, "read", "-p", p)
		blocked(t, r.pid())
		r.cmd.Process.Signal(syscall.SIGTERM)
		if st := r.status(t); st != 143 {
			t.Errorf("SIGTERM: status %d", st)
		}
		r = spawnWith(t, b, nil, "read", "-p", p)
		blocked(t, r.pid())
		if st, _, _ := lockpipe(t, nil, "delete", "-p", p); st != 0 {
			t.Fatalf("delete: %d", st)
		}
		checkRemoved(t, r, "read", p, byEvent)
	})
	t.Run("pid1", func(t *testing.T) {
		t.Parallel()
		p := pipePath(t)
		lockpipe(t, nil, "create", "-p", p)
		stayingWriter(t, p)
		u, pid := asPID1(t, nil, "read", "-t", "300ms", "-p", p)
		blocked(t, pid)
		if st := u.status(t); st != 110 {
			t.Errorf("--timeout as PID 1: status %d, stderr %q", st, u.stderr.String())
		}
	})
}

// TestDeadlineWithoutFilesystem holds the waiter's system calls on its path
// (strace delays them by 4 s, as a file system that stops answering would):
// its very first one, the handle's open, and every stat of it. The deadline,
// at 1.5 s, must end the wait while that call is still pending: killed with
// it ("= ?"), not waited for ("= 0").
func TestDeadlineWithoutFilesystem(t *testing.T) {
	t.Parallel()
	needRoot(t, "strace")
	for _, calls := range []string{"openat", "newfstatat,statx,stat"} {
		t.Run(calls, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			lockpipe(t, nil, "create", "-p", p)
			log := p + ".strace"
			c := newChild(nil, "strace", "-f", "-qq", "-o", log, "-P", p, "-e", "trace="+calls,
				"-e", "inject="+calls+":delay_enter=4000000", bin, "read", "-t", "1500ms", "-p", p).start(t)
			// strace may add lines of its own.
			if st := c.status(t); st != 110 || !strings.Contains(c.stderr.String(), line("WARN", "timed out after 1.5s while reading from pipe at", p)) {
				t.Errorf("status %d, stderr %q", st, c.stderr.String())
			}
			b, _ := os.ReadFile(log)
			if !strings.Contains(string(b), `"`+p+`"`) || !strings.Contains(string(b), "= ?") || strings.Contains(string(b), "= 0") {
				t.Errorf("the call on the path was not pending when the deadline ended the wait:\n%s", b)
			}
		})
	}
}

// TestFloodingWriter checks that a writer that never stops writing cannot
// hold a reader: the timeout, rm and delete end its wait, while the reader,
// at nice 10, shares one CPU with the writer, so that the pipe is never empty.
func TestFloodingWriter(t *testing.T) {
	t.Parallel()
	needRoot(t, "taskset", "nice")
	for _, end := range []string{"timeout", "rm", "delete"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			lockpipe(t, nil, "create", "-p", p)
			newChild(nil, "taskset", "-c", "0", "/bin/sh", "-c", `exec yes > "$0"`, p).start(t)
			args := []string{"taskset", "-c", "0", "nice", "-n", "10", bin, "read", "-p", p}
			if end == "timeout" {
				args = append(args, "-t", "1s")
			}
			r := newChild(nil, args...).start(t)
			waitFor(t, "the reader reading", func() bool { return holds(r.pid(), p) })
			switch end {
			case "rm":
				must(t, os.Remove(p))
			case "delete":
				lockpipe(t, nil, "delete", "-p", p)
			}
			want, says := 0, "pipe removed while reading from pipe at"
			if end == "timeout" {
				want, says = 110, "timed out after 1s while reading from pipe at"
			}
			if st := r.status(t); st != want || !strings.Contains(r.stderr.String(), says) {
				t.Errorf("status %d, stderr %q", st, r.stderr.String())
			}
		})
	}
}

// TestFullStderr fills the pipe that is lockpipe's standard error, as a
// stuck log collector would, and checks that a signal still ends a waiting
// lockpipe, within about a second, dropping the line it cannot write.
func TestFullStderr(t *testing.T) {
	t.Parallel()
	for _, pid1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("pid1=%v", pid1), func(t *testing.T) {
			t.Parallel()
			r, w, err := os.Pipe()
			must(t, err)
			defer r.Close()
			p := pipePath(t)
			argv := []string{bin, "read", "-p", p}
			if pid1 {
				needRoot(t, "unshare")
				needNative(t)
				argv = append([]string{"unshare", "--pid", "--fork", "--kill-child", "--mount-proc"}, argv...)
			}
			c := newChild(nil, argv...)
			c.cmd.Stderr = w
			c.start(t)
			w.Close()
			pid := c.pid()
			if pid1 {
				waitFor(t, "lockpipe under unshare", func() bool { pid = onlyChild(c.pid()); return pid > 0 })
			}
			blocked(t, pid)
			full := fillPipe(t, r)
			syscall.Kill(pid, syscall.SIGTERM)
			if st := c.status(t); st != 143 {
				t.Errorf("status %d", st)
			}
			if n := queued(t, r); n < full {
				t.Errorf("the pipe was drained meanwhile (%d of %d bytes left): the test proves nothing", n, full)
			}
		})
	}
}

// fillPipe writes into the pipe r reads until it is full, through another descriptor on the same pipe, and returns how much it holds.
func fillPipe(t *testing.T, r *os.File) int {
	w, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", r.Fd()), os.O_WRONLY, 0)
	must(t, err)
	defer w.Close()
	fd := int(w.Fd()) // Fd makes the descriptor blocking: once, before O_NONBLOCK is set
	must(t, syscall.SetNonblock(fd, true))
	chunk := make([]byte, 4096)
	for {
		if _, err := syscall.Write(fd, chunk); err != nil {
			break
		}
	}
	return queued(t, r)
}

// queued returns how many bytes wait in the pipe r reads.
func queued(t *testing.T, r *os.File) int {
	n, err := fionread(int(r.Fd()))
	must(t, err)
	return n
}

// TestFewDescriptors runs a waiting read under a low descriptor limit: it
// works, or fails at once with 24 and one line, never with Go's crash.
func TestFewDescriptors(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{4, 5, 6, 7, 8} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			lockpipe(t, nil, "create", "-p", p)
			c := newChild(nil, "/bin/sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" read -t 300ms -p "$1"`, limit), bin, p).start(t)
			st := c.status(t)
			lines := strings.Count(c.stderr.String(), "\n")
			switch {
			case st == 110 && lines == 2: // "pipe exists", then the timeout: it waited
			case st == 24 && strings.Count(c.stderr.String(), "[ERROR") == 1 && strings.Contains(c.stderr.String(), "too many open files"):
			default:
				t.Errorf("ulimit -n %d: status %d, stderr %q", limit, st, c.stderr.String())
			}
		})
	}
	// 1,017 descriptors inherited under a limit of 1,024, as a leaky parent leaves them.
	p := pipePath(t)
	lockpipe(t, nil, "create", "-p", p)
	c := newChild(nil, "/bin/bash", "-c", `ulimit -n 1024; i=3; while [ $i -lt 1020 ]; do eval "exec $i</dev/null"; i=$((i+1)); done; exec "$0" read -t 300ms -p "$1"`, bin, p).start(t)
	if st := c.status(t); st != 110 && st != 24 || strings.Count(c.stderr.String(), "\n") > 2 {
		t.Errorf("1,017 descriptors inherited: status %d, stderr %q", st, c.stderr.String())
	}
}

// TestMetAtOnceLetsGoOnlyItsOwn checks that a waiter that met its partner
// before it ever looked at its path closes no descriptor and deletes no
// timer it did not make: descriptor 0 is CMD's standard input, and timer 0
// may be another pipe's waiter's.
func TestMetAtOnceLetsGoOnlyItsOwn(t *testing.T) {
	t.Parallel()
	needRoot(t, "strace")
	p := pipePath(t)
	r := spawn(t, nil, "read", "-p", p)
	blocked(t, r.pid())
	log := filepath.Join(t.TempDir(), "strace.log")
	c := newChild(nil, "strace", "-f", "-qq", "-o", log, "-e", "trace=close,timer_delete", bin, "write", "-p", p).start(t)
	if st := c.status(t); st != 0 || r.status(t) != 0 {
		t.Fatalf("write: %d, stderr %q", st, c.stderr.String())
	}
	b, err := os.ReadFile(log)
	must(t, err)
	if s := string(b); strings.Contains(s, "close(0)") || strings.Contains(s, "timer_delete(") {
		t.Errorf("the writer let go of what was not its own:\n%s", s)
	}
}

// TestWaitAllocates counts what making a wait allocates: on one pipe, its
// waiter comes with it, since each object of a size not yet allocated takes
// a heap page of its own, a page fault at every start (docs/figures.md).
func TestWaitAllocates(t *testing.T) {
	var kept string // a quoted path is kept, as the waiter keeps it
	quote := testing.AllocsPerRun(20, func() { kept = strconv.Quote("/p") })
	rows := []struct {
		name  string
		paths []string
		want  float64
	}{
		{"one pipe: the wait with its waiter, its channel, the quoted path", []string{"/p"}, 2 + quote},
		{"two pipes: and the waiters, and each quoted path", []string{"/p", "/q"}, 3 + 2*quote},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			r := &request{paths: row.paths}
			if n := testing.AllocsPerRun(20, func() { newWait(r, true) }); n != row.want && allocationsCounted() {
				t.Errorf("allocated %v times; want %v", n, row.want)
			}
		})
	}
	_ = kept
}
