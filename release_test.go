package main

// Release and broadcast: a write releases every reader waiting then, a read
// every writer, delete everyone; --nowait and the --if-exists latch.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestReadWaitsForWrite checks that a reader waits until a writer releases it, and the pipe stays.
func TestReadWaitsForWrite(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	r := spawn(t, nil, "read", "--path", p)
	blocked(t, r.pid())
	if !isPipe(p) {
		t.Fatal("the reader created no pipe")
	}
	st, _, werr := lockpipe(t, nil, "write", "--path", p)
	if st != 0 {
		t.Fatalf("write: status %d, stderr %q", st, werr)
	}
	if st := r.status(t); st != 0 {
		t.Fatalf("read: status %d", st)
	}
	if want := line("WARN", "pipe does not exist at", p) + line("INFO", "created pipe at", p) + line("INFO", "read from pipe at", p); r.stderr.String() != want {
		t.Errorf("read stderr:\n%s\nwant:\n%s", r.stderr.String(), want)
	}
	if want := line("INFO", "pipe exists at", p) + line("INFO", "wrote to pipe at", p); werr != want {
		t.Errorf("write stderr:\n%s\nwant:\n%s", werr, want)
	}
	if !isPipe(p) {
		t.Error("the pipe is gone after read and write")
	}
}

// TestWriteWaitsForRead checks that a writer waits until a reader releases it.
func TestWriteWaitsForRead(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	w := spawn(t, nil, "w", "-p", p)
	blocked(t, w.pid())
	if st, _, rerr := lockpipe(t, nil, "r", "-p", p); st != 0 {
		t.Fatalf("read: status %d, stderr %q", st, rerr)
	}
	if st := w.status(t); st != 0 {
		t.Fatalf("write: status %d", st)
	}
	if w.stdout.Len() != 0 || !isPipe(p) {
		t.Errorf("stdout %q, pipe there %v", w.stdout.String(), isPipe(p))
	}
}

// TestBroadcast checks that one write releases every waiting reader, one read
// every waiting writer, and that latecomers wait for the next one.
func TestBroadcast(t *testing.T) {
	t.Parallel()
	for _, side := range []struct{ waiter, releaser string }{{"read", "write"}, {"write", "read"}} {
		t.Run(side.waiter, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			if st, _, _ := lockpipe(t, nil, "create", "-p", p); st != 0 {
				t.Fatal("create failed")
			}
			var waiters []*child
			for i := 0; i < 10; i++ {
				waiters = append(waiters, spawn(t, nil, side.waiter, "-p", p))
			}
			for _, c := range waiters {
				blocked(t, c.pid())
			}
			if st, _, _ := lockpipe(t, nil, side.releaser, "-p", p); st != 0 {
				t.Fatalf("%s: status %d", side.releaser, st)
			}
			for i, c := range waiters {
				if st := c.status(t); st != 0 {
					t.Errorf("waiter %d: status %d", i, st)
				}
			}
			late := spawn(t, nil, side.waiter, "-p", p)
			blocked(t, late.pid()) // fails if the latecomer passed without a partner
			lockpipe(t, nil, side.releaser, "-p", p)
			if st := late.status(t); st != 0 {
				t.Errorf("latecomer: status %d", st)
			}
		})
	}
}

// TestReleaseWhileWaiterLooks releases two readers with one write, and two
// writers with one read, while one of them is looking at its path (woken by
// a name removed beside the pipe, and held there by strace before it rearms
// its timer): that one is released too. A reader holds the pipe open while it
// looks; a writer, which cannot, has a looker, and stays in open(2).
func TestReleaseWhileWaiterLooks(t *testing.T) {
	t.Parallel()
	needNative(t)
	for _, side := range []struct{ waiter, releaser, released string }{
		{"read", "write", "read from pipe at"}, {"write", "read", "wrote to pipe at"}} {
		t.Run(side.waiter, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := filepath.Join(dir, "pipe")
			lockpipe(t, nil, "create", "-p", p)
			a := spawn(t, nil, side.waiter, "-p", p)
			blocked(t, a.pid())
			s := traced(t, filepath.Join(t.TempDir(), "log"), "timer_settime:delay_enter=3000000:when=2+", side.waiter, "-p", p)
			var b int
			waitFor(t, "the traced waiter waiting", func() bool {
				b = onlyChild(s.pid())
				w, _ := waiting(b)
				return b > 0 && w
			})
			must(t, os.WriteFile(filepath.Join(dir, "beside"), nil, 0o600))
			must(t, os.Remove(filepath.Join(dir, "beside"))) // its directory's notification: it looks
			waitFor(t, "the traced waiter's look held before it rearms", func() bool { return stoppedIn(b, syscall.SYS_TIMER_SETTIME) })
			if st, _, stderr := lockpipe(t, nil, side.releaser, "-p", p); st != 0 {
				t.Fatalf("%s: %d %q", side.releaser, st, stderr)
			}
			if st := a.status(t); st != 0 {
				t.Errorf("the %s that waited: status %d", side.waiter, st)
			}
			if st := s.status(t); st != 0 || !strings.Contains(s.stderr.String(), side.released) {
				t.Errorf("the %s that looked: status %d, stderr %q", side.waiter, st, s.stderr.String())
			}
		})
	}
}

// stoppedIn reports whether a thread of pid is stopped by its tracer in the system call numbered nr.
func stoppedIn(pid int, nr uintptr) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task + "/syscall")
		st, _ := os.ReadFile(task + "/stat")
		if f := strings.Fields(string(b)); len(f) > 0 && f[0] == strconv.Itoa(int(nr)) &&
			len(st) > 0 && strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))[0] == "t" {
			return true
		}
	}
	return false
}

// TestDeleteReleasesWaiters checks that delete releases every waiting reader or writer, then removes the pipe.
func TestDeleteReleasesWaiters(t *testing.T) {
	t.Parallel()
	for _, waiter := range []string{"read", "write"} {
		t.Run(waiter, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			var ws []*child
			for i := 0; i < 5; i++ {
				ws = append(ws, spawn(t, nil, waiter, "-p", p))
			}
			for _, c := range ws {
				blocked(t, c.pid())
			}
			st, _, stderr := lockpipe(t, nil, "delete", "-p", p)
			if st != 0 || stderr != line("INFO", "deleted pipe at", p) {
				t.Fatalf("delete: status %d, stderr %q", st, stderr)
			}
			for i, c := range ws {
				if st := c.status(t); st != 0 {
					t.Errorf("waiter %d: status %d, stderr %q", i, st, c.stderr.String())
				}
			}
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("pipe still there: %v", err)
			}
		})
	}
}

// TestCommands runs every command and alias with its fixed messages at the debug level.
func TestCommands(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	env := []string{"LOCKPIPE_LOG_FILTER=debug", "LOCKPIPE_PATH=" + p}
	steps := []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"exists"}, 1, line("DEBUG", "checking if pipe exists at", p) + line("INFO", "pipe does not exist at", p)},
		{[]string{"create"}, 0, line("DEBUG", "creating pipe at", p) + line("INFO", "created pipe at", p)},
		{[]string{"c"}, 0, line("DEBUG", "creating pipe at", p) + line("WARN", "pipe already exists at", p)},
		{[]string{"e"}, 0, line("DEBUG", "checking if pipe exists at", p) + line("INFO", "pipe exists at", p)},
		{[]string{"delete"}, 0, line("DEBUG", "deleting pipe at", p) + line("INFO", "deleted pipe at", p)},
		{[]string{"d"}, 0, line("DEBUG", "deleting pipe at", p) + line("WARN", "pipe does not exist at", p)},
		{[]string{"exists"}, 1, line("DEBUG", "checking if pipe exists at", p) + line("INFO", "pipe does not exist at", p)},
	}
	for _, s := range steps {
		st, stdout, stderr := lockpipe(t, env, s.args...)
		if st != s.status || stderr != s.stderr || stdout != "" {
			t.Errorf("%v: status %d, stdout %q, stderr:\n%s\nwant status %d, stderr:\n%s", s.args, st, stdout, stderr, s.status, s.stderr)
		}
	}
	// read and write, each waiting for the other, with their debug lines.
	r := spawn(t, env, "r")
	blocked(t, r.pid())
	st, _, werr := lockpipe(t, env, "w")
	if st != 0 || r.status(t) != 0 {
		t.Fatalf("w status %d, r stderr %q", st, r.stderr.String())
	}
	wantR := line("DEBUG", "ensuring pipe exists at", p) + line("WARN", "pipe does not exist at", p) +
		line("DEBUG", "creating pipe at", p) + line("INFO", "created pipe at", p) +
		line("DEBUG", "reading from pipe at", p) + line("INFO", "read from pipe at", p)
	wantW := line("DEBUG", "ensuring pipe exists at", p) + line("INFO", "pipe exists at", p) +
		line("DEBUG", "writing to pipe at", p) + line("INFO", "wrote to pipe at", p)
	if r.stderr.String() != wantR || werr != wantW {
		t.Errorf("read stderr:\n%s\nwant:\n%s\nwrite stderr:\n%s\nwant:\n%s", r.stderr.String(), wantR, werr, wantW)
	}
}

// TestMode checks that --mode holds exactly for a pipe the call creates, whatever the umask, and leaves others alone.
func TestMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	umasked := func(umask string, env []string, args ...string) {
		t.Helper()
		c := newChild(env, append([]string{"/bin/sh", "-c", "umask " + umask + " && exec \"$0\" \"$@\"", bin}, args...)...).start(t)
		if st := c.status(t); st != 0 {
			t.Fatalf("%v: status %d, stderr %q", args, st, c.stderr.String())
		}
	}
	modeOf := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	cases := []struct {
		name  string
		env   []string
		args  []string
		umask string
		want  os.FileMode
	}{
		{"default", nil, []string{"create"}, "022", 0o600},
		{"flag wide", nil, []string{"create", "-m", "0666"}, "077", 0o666},
		{"flag no leading zero", nil, []string{"c", "--mode=640"}, "0", 0o640},
		{"env", []string{"LOCKPIPE_MODE=0604"}, []string{"create"}, "077", 0o604},
		{"flag beats env", []string{"LOCKPIPE_MODE=0604"}, []string{"-m", "0620", "create"}, "077", 0o620},
		{"zero", nil, []string{"create", "--mode", "0"}, "022", 0},
	}
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		umasked(c.umask, c.env, append(c.args, "-p", p)...)
		if got := modeOf(p); got != c.want {
			t.Errorf("%s: mode %#o, want %#o", c.name, got, c.want)
		}
	}
	// read creates with the mode too; an existing pipe keeps its own.
	p := filepath.Join(dir, "by-read")
	r := newChild(nil, "/bin/sh", "-c", "umask 077 && exec \"$0\" read -m 0660 -p \"$1\"", bin, p).start(t)
	blocked(t, r.cmd.Process.Pid)
	if got := modeOf(p); got != 0o660 {
		t.Errorf("read created mode %#o, want 0660", got)
	}
	lockpipe(t, nil, "write", "-m", "0600", "-p", p)
	r.status(t)
	umasked("0", nil, "create", "-m", "0600", "-p", p)
	if got := modeOf(p); got != 0o660 {
		t.Errorf("an existing pipe's mode changed to %#o", got)
	}
}

// TestConcurrentCreate runs 50 creates on one fresh path at once: all succeed and one pipe is left.
func TestConcurrentCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "pipe")
	for i, c := range startAll(t, 50, "create", "-m", "0640", "-p", p) {
		if st := c.status(t); st != 0 {
			t.Errorf("create %d: status %d, %q", i, st, c.stderr.String())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !isPipe(p) {
		t.Errorf("%d entries, pipe there %v", len(entries), isPipe(p))
	}
}

// TestManyRacingWaiters starts 50 readers (then 50 writers) at once on a path
// that does not exist yet, releases them with one partner, and checks nothing is left.
func TestManyRacingWaiters(t *testing.T) {
	t.Parallel()
	needNative(t)
	for round := 0; round < 2; round++ {
		for _, side := range [][2]string{{"read", "write"}, {"write", "read"}} {
			p := pipePath(t)
			waiters := startAll(t, 50, side[0], "-p", p)
			for _, c := range waiters {
				blocked(t, c.pid())
			}
			if st, _, stderr := lockpipe(t, nil, side[1], "-p", p); st != 0 {
				t.Fatalf("%s: %d %q", side[1], st, stderr)
			}
			for i, c := range waiters {
				if st := c.status(t); st != 0 {
					t.Errorf("round %d %s %d: status %d %q", round, side[0], i, st, c.stderr.String())
				}
			}
		}
	}
}

// TestDeleteRace deletes the pipe while more waiters arrive: those waiting are
// released; those racing the delete are released by it, or wait on a fresh
// pipe at the path; those that start after it all wait on a fresh pipe, which
// one partner releases.
func TestDeleteRace(t *testing.T) {
	t.Parallel()
	for _, side := range [][2]string{{"read", "write"}, {"write", "read"}} {
		t.Run(side[0], func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			early := startAll(t, 20, side[0], "-p", p)
			for _, c := range early {
				blocked(t, c.pid())
			}
			racing := startAll(t, 20, side[0], "-p", p)
			if st, _, stderr := lockpipe(t, nil, "delete", "-p", p); st != 0 {
				t.Fatalf("delete: %d %q", st, stderr)
			}
			after := startAll(t, 5, side[0], "-p", p)
			for i, c := range early {
				if st := c.status(t); st != 0 {
					t.Errorf("early %d: %d", i, st)
				}
			}
			// A racer that holds the deleted pipe is released by its removal check.
			var fresh []*child
			for _, c := range append(racing, after...) {
				waitFor(t, "waiter done or waiting", func() bool {
					waits, _ := waiting(c.pid())
					return waits || !c.running()
				})
				if c.running() && !holdsDeleted(c.pid()) {
					fresh = append(fresh, c)
				}
			}
			if len(fresh) < len(after) {
				t.Fatalf("%d waiters on the fresh pipe; the %d that started after the delete must all be", len(fresh), len(after))
			}
			if st, _, stderr := lockpipe(t, nil, side[1], "-p", p); st != 0 {
				t.Fatalf("%s: %d %q", side[1], st, stderr)
			}
			for i, c := range append(racing, after...) {
				if st := c.status(t); st != 0 {
					t.Errorf("late %d: %d %q", i, st, c.stderr.String())
				}
			}
		})
	}
}

// holdsDeleted reports whether pid holds a descriptor on a file that has been removed.
func holdsDeleted(pid int) bool {
	links, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, l := range links {
		if target, _ := os.Readlink(l); strings.HasSuffix(target, " (deleted)") {
			return true
		}
	}
	return false
}

// TestNowait checks that write --nowait releases the readers waiting now and never waits.
func TestNowait(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	if st, _, stderr := lockpipe(t, nil, "write", "-n", "-p", p); st != 6 || stderr != "[WARN  lockpipes] pipe does not exist at "+strconv.Quote(p)+"; nobody to release\n" || isPipe(p) {
		t.Errorf("missing pipe: status %d, stderr %q, created %v", st, stderr, isPipe(p))
	}
	lockpipe(t, nil, "create", "-p", p)
	if st, _, stderr := lockpipe(t, nil, "write", "--nowait", "-p", p, "--", "/bin/echo", "ran"); st != 6 || !strings.HasSuffix(stderr, "[WARN  lockpipes] nobody is waiting to read from pipe at "+strconv.Quote(p)+"\n") {
		t.Errorf("nobody waiting: status %d, stderr %q", st, stderr)
	}
	readers := startAll(t, 3, "read", "-p", p)
	for _, r := range readers {
		blocked(t, r.pid())
	}
	st, stdout, _ := lockpipe(t, nil, "write", "-n", "-p", p, "--", "/bin/echo", "ran")
	if st != 0 || stdout != "ran\n" {
		t.Errorf("write -n: status %d, stdout %q", st, stdout)
	}
	for i, r := range readers {
		if st := r.status(t); st != 0 {
			t.Errorf("reader %d: %d", i, st)
		}
	}
	f := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(f, []byte("data"), 0o644))
	checkBad(t, nil, f, 17, "found a regular file at %q, not a named pipe; leaving it untouched", bin, "write", "-n", "-p", f)
}

// TestIfExistsLatch checks --if-exists, and the latch it makes with create and delete.
func TestIfExistsLatch(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	for _, args := range [][]string{{"read", "--if-exists"}, {"write", "--if-exists"}, {"write", "--nowait", "--if-exists"}} {
		st, stdout, stderr := lockpipe(t, nil, append(args, "-p", p, "--", "/bin/echo", "passed")...)
		if st != 0 || stdout != "passed\n" || !strings.Contains(stderr, "nothing to wait for (--if-exists)") || isPipe(p) {
			t.Errorf("%v on nothing: status %d, stdout %q, stderr %q", args, st, stdout, stderr)
		}
	}
	lockpipe(t, nil, "create", "-p", p) // arm
	waiters := startAll(t, 5, "read", "--if-exists", "-p", p)
	for _, w := range waiters {
		blocked(t, w.pid())
	}
	if st, _, _ := lockpipe(t, nil, "delete", "-p", p); st != 0 { // fire
		t.Fatalf("delete: %d", st)
	}
	for i, w := range waiters {
		if st := w.status(t); st != 0 {
			t.Errorf("waiter %d: %d", i, st)
		}
	}
	if st, _, _ := lockpipe(t, nil, "read", "--if-exists", "-p", p); st != 0 || isPipe(p) {
		t.Errorf("a latecomer: status %d", st)
	}
	f := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(f, []byte("data"), 0o644))
	checkBad(t, nil, f, 17, "found a regular file at %q, not a named pipe; leaving it untouched", bin, "read", "--if-exists", "-p", f)
	// Through a symbolic link: once the pipe it leads to is deleted, nothing is there, as exists says.
	latch, link := pipePath(t), filepath.Join(t.TempDir(), "link")
	must(t, os.Symlink(latch, link))
	lockpipe(t, nil, "create", "-p", latch)
	w := spawn(t, nil, "read", "--if-exists", "-p", link)
	blocked(t, w.pid())
	lockpipe(t, nil, "delete", "-p", latch)
	if st := w.status(t); st != 0 {
		t.Errorf("waiter through a link: %d %q", st, w.stderr.String())
	}
	if st, _, stderr := lockpipe(t, nil, "read", "--if-exists", "-p", link); st != 0 || !strings.Contains(stderr, "nothing to wait for (--if-exists)") {
		t.Errorf("a latecomer through the dangling link: status %d, stderr %q", st, stderr)
	}
	if st, _, _ := lockpipe(t, nil, "exists", "-p", link); st != 1 {
		t.Errorf("exists through the dangling link: %d", st)
	}
}

// TestStdinIgnored checks that a closed or absent standard input changes nothing.
func TestStdinIgnored(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	for _, redirect := range []string{"<&-", "</dev/null"} {
		r := newChild(nil, "/bin/sh", "-c", "exec \"$0\" read -p \"$1\" "+redirect, bin, p).start(t)
		blocked(t, r.cmd.Process.Pid)
		if st, _, _ := lockpipe(t, nil, "write", "-p", p); st != 0 || r.status(t) != 0 {
			t.Errorf("%s: write %d, read %d, stderr %q", redirect, st, r.status(t), r.stderr.String())
		}
	}
}
