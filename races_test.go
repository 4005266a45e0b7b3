package main

// Nothing is lost whatever happens meanwhile: delete and install, the two
// commands that change the file system, raced by other processes and
// interrupted by signals (strace holds lockpipe at the step in question),
// and the limits where rm works and so must delete.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// traced starts lockpipe with args under strace, which delays the system
// calls that inject names (strace's -e inject syntax) and logs to log.
func traced(t *testing.T, log, inject string, args ...string) *child {
	t.Helper()
	needRoot(t, "strace")
	argv := append([]string{"strace", "-f", "-qq", "-o", log, "-e", "inject=" + inject, bin}, args...)
	return newChild(nil, argv...).start(t)
}

// leftovers lists the names in dir that lockpipe made for itself.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, ".lockpipe-*"))
	must(t, err)
	return names
}

// readIf reads the file at p if it should: a named pipe there would block the read.
func readIf(should bool, p string) []byte {
	if !should {
		return nil
	}
	b, _ := os.ReadFile(p)
	return b
}

// there reports whether something is at p, not following a symbolic link.
func there(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// deletingName is where delete moves the pipe at p, which it has not moved yet.
func deletingNameOf(t *testing.T, p string) string {
	var st syscall.Stat_t
	must(t, syscall.Lstat(p, &st))
	return filepath.Join(filepath.Dir(p), ".lockpipe-deleting-"+filepath.Base(p)+"."+strconv.FormatUint(st.Ino, 10))
}

// TestDeletePutBack swaps a user's file in at the path before delete moves
// it away, then has a third process create a file at the path while delete
// would put the first back: neither may be lost or replaced.
func TestDeletePutBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, users := filepath.Join(dir, "p"), filepath.Join(dir, "users")
	must(t, syscall.Mkfifo(p, 0o600))
	private := deletingNameOf(t, p)
	must(t, os.WriteFile(users, []byte("the user's file\n"), 0o644))
	log := filepath.Join(dir, "strace.log")
	c := traced(t, log, "renameat2:delay_enter=2000000", "delete", "-p", p)
	waitFor(t, "delete held in its move", func() bool { b, _ := os.ReadFile(log); return strings.Contains(string(b), "renameat2(") })
	must(t, os.Rename(users, p)) // the swap, before the move
	waitFor(t, "delete held in its put-back", func() bool { return there(private) && !there(p) })
	must(t, os.WriteFile(p, []byte("a third file\n"), 0o644))
	st := c.status(t)
	want := fmt.Sprintf("[ERROR lockpipes] %q was replaced while being deleted, and cannot be put back (file exists); it is now at %q\n", p, private)
	if st != 17 || !strings.HasSuffix(c.stderr.String(), want) {
		t.Errorf("status %d, stderr %q; want 17 and %q", st, c.stderr.String(), want)
	}
	if b, _ := os.ReadFile(p); string(b) != "a third file\n" {
		t.Errorf("the third file became %q", b)
	}
	if b, _ := os.ReadFile(private); string(b) != "the user's file\n" {
		t.Errorf("the user's file became %q", b)
	}
}

// TestDeleteInterrupted sends SIGTERM, SIGINT or SIGKILL to delete while it
// is held just after moving the path away (a named pipe, or a user's file
// swapped in), and checks what is left: SIGTERM and SIGINT wait for the step
// to finish. What SIGKILL leaves, the next delete of the path finishes when
// it is the pipe, and leaves alone, naming it, when it is not; no other
// command touches it.
func TestDeleteInterrupted(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		for _, swapped := range []bool{false, true} {
			for _, next := range []string{"delete", "exists", "read --if-exists", "create"} {
				if sig != syscall.SIGKILL && next != "delete" {
					continue // only what SIGKILL leaves needs every command tried on it
				}
				t.Run(fmt.Sprintf("%s/swapped=%v/%s", signalName(sig), swapped, next), func(t *testing.T) {
					t.Parallel()
					deleteInterrupted(t, sig, swapped, strings.Fields(next))
				})
			}
		}
	}
}

// deleteInterrupted runs one case of TestDeleteInterrupted.
func deleteInterrupted(t *testing.T, sig syscall.Signal, swapped bool, next []string) {
	dir := t.TempDir()
	p, log := filepath.Join(dir, "p"), filepath.Join(dir, "log")
	must(t, syscall.Mkfifo(p, 0o600))
	private := deletingNameOf(t, p)
	// A pipe is held between its move and its removal; a user's file, swapped
	// in while the move is held, between its move and its put-back.
	inject := "unlinkat:delay_enter=2000000"
	if swapped {
		inject = "renameat2:delay_enter=2000000"
	}
	c := traced(t, log, inject, "delete", "-p", p)
	if swapped {
		waitFor(t, "delete held in its move", func() bool { b, _ := os.ReadFile(log); return strings.Contains(string(b), "renameat2(") })
		must(t, os.Remove(p))
		must(t, os.WriteFile(p, []byte("the user's file\n"), 0o644))
	}
	waitFor(t, "delete held with the path moved away", func() bool { return there(private) && !there(p) })
	syscall.Kill(onlyChild(c.pid()), sig) // lockpipe, under strace
	st := c.status(t)
	if sig != syscall.SIGKILL {
		// The signal waits for the step; then it ends lockpipe, unless the delete had ended first.
		ended := strings.Contains(c.stderr.String(), "received "+signalName(sig)+" while deleting pipe at")
		if !(st == 128+int(sig) && ended || st == 0 && !swapped || st == 17 && swapped) {
			t.Errorf("status %d, stderr %q", st, c.stderr.String())
		}
		if l := leftovers(t, dir); len(l) != 0 {
			t.Errorf("left behind: %v", l)
		}
		if b := readIf(swapped, p); swapped && string(b) != "the user's file\n" { // not read when a pipe: it would block
			t.Errorf("the user's file became %q", b)
		}
		if !swapped && there(p) {
			t.Error("the pipe is still there")
		}
		return
	}
	if !there(private) {
		t.Fatalf("SIGKILL left nothing to finish: status %d, stderr %q", st, c.stderr.String())
	}
	st, _, stderr := lockpipe(t, nil, append(next, "-p", p)...)
	says := ""
	switch {
	case next[0] == "delete" && swapped:
		says = "[WARN  lockpipes] found a regular file at " + strconv.Quote(private) + ", which a killed delete may have moved there; leaving it untouched"
	case next[0] == "delete":
		says = "[WARN  lockpipes] removed the pipe that a killed delete left at " + strconv.Quote(private)
	}
	if says != "" && !strings.Contains(stderr, says) || says == "" && strings.Contains(stderr, "killed delete") {
		t.Errorf("%v after the kill: status %d, stderr %q", next, st, stderr)
	}
	if gone := !there(private); gone != (next[0] == "delete" && !swapped) {
		t.Errorf("%v after the kill: the private name is gone: %v", next, gone)
	}
	if b := readIf(swapped, private); swapped && string(b) != "the user's file\n" {
		t.Errorf("the user's file became %q", b)
	}
}

// TestDeleteWhereRmWorks deletes a pipe on a file system with no free inode
// and at a path of 4,071 bytes: delete needs nothing rm does not.
func TestDeleteWhereRmWorks(t *testing.T) {
	t.Parallel()
	needRoot(t, "unshare", "mount")
	t.Run("no free inode", func(t *testing.T) {
		t.Parallel()
		d := t.TempDir()
		script := `mount -t tmpfs -o nr_inodes=4,size=64k lockpipe-test "$1" && "$2" create -p "$1/p" 2>/dev/null &&
			i=0; while true 2>/dev/null >"$1/f$i"; do i=$((i+1)); done; true 2>/dev/null >"$1/one-more" && echo "inodes left"; "$2" delete -p "$1/p"`
		c := newChild(nil, "unshare", "--mount", "/bin/sh", "-c", script, "sh", d, bin).start(t)
		if st := c.status(t); st != 0 || c.stdout.String() != "" || !strings.HasSuffix(c.stderr.String(), "deleted pipe at "+strconv.Quote(d+"/p")+"\n") {
			t.Errorf("status %d, stdout %q, stderr %q", st, c.stdout.String(), c.stderr.String())
		}
	})
	t.Run("4071-byte path", func(t *testing.T) {
		t.Parallel()
		p := t.TempDir()
		for len(p) < 4071-255 {
			p = filepath.Join(p, strings.Repeat("d", 250))
		}
		must(t, os.MkdirAll(p, 0o755))
		p = filepath.Join(p, strings.Repeat("p", 4071-len(p)-1))
		if len(p) != 4071 {
			t.Fatalf("path of %d bytes", len(p))
		}
		must(t, syscall.Mkfifo(p, 0o600))
		if st, _, stderr := lockpipe(t, nil, "delete", "-p", p); st != 0 || there(p) {
			t.Errorf("status %d, stderr %q, pipe still there %v", st, stderr, there(p))
		}
		if l := leftovers(t, filepath.Dir(p)); len(l) != 0 {
			t.Errorf("left behind: %v", l)
		}
	})
}

// TestDeleteAllOrNothing checks that a delete that cannot remove the pipe
// says so before releasing anyone: a reader waiting on it still waits.
func TestDeleteAllOrNothing(t *testing.T) {
	t.Parallel()
	needRoot(t, "unshare", "mount")
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	t.Run("sticky directory, another user's pipe", func(t *testing.T) {
		t.Parallel()
		top := t.TempDir()
		os.Chmod(filepath.Dir(top), 0o755)
		os.Chmod(top, 0o755)
		d := filepath.Join(top, "sticky")
		must(t, os.Mkdir(d, 0o777))
		must(t, os.Chmod(d, 0o777|os.ModeSticky))
		p := filepath.Join(d, "p")
		lockpipe(t, nil, "create", "-m", "0666", "-p", p)
		r := spawn(t, nil, "read", "-p", p)
		blocked(t, r.pid())
		c := newChild(nil, bin, "delete", "-p", p)
		c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
		if st := c.start(t).status(t); st != 1 || !strings.Contains(c.stderr.String(), "cannot delete pipe at "+strconv.Quote(p)+": operation not permitted") {
			t.Errorf("status %d, stderr %q", st, c.stderr.String())
		}
		if waits := stillWaits(r.pid()); !waits || !isPipe(p) {
			t.Errorf("the reader was released (%v) or the pipe is gone (%v)", !waits, !isPipe(p))
		}
	})
	t.Run("read-only parent", func(t *testing.T) {
		t.Parallel()
		d := t.TempDir()
		p := filepath.Join(d, "p")
		must(t, syscall.Mkfifo(p, 0o600))
		r := spawn(t, nil, "read", "-p", p)
		blocked(t, r.pid())
		c := newChild(nil, "unshare", "--mount", "/bin/sh", "-c", `mount --bind -o ro "$1" "$1" && exec "$2" delete -p "$1/p"`, "sh", d, bin).start(t)
		if st := c.status(t); st != 30 || !strings.Contains(c.stderr.String(), "read-only file system") {
			t.Errorf("status %d, stderr %q", st, c.stderr.String())
		}
		if waits := stillWaits(r.pid()); !waits || !isPipe(p) {
			t.Errorf("the reader was released (%v) or the pipe is gone (%v)", !waits, !isPipe(p))
		}
	})
}

// TestConcurrentDeletes runs two delete loops on one path while the test
// re-creates the pipe as fast as it can: a pipe replaced by a pipe is still
// a pipe, so every delete removes one or finds nothing, never 17.
func TestConcurrentDeletes(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	loop := `i=0; while [ $i -lt 100 ]; do "$0" delete -p "$1" 2>>"$1.err"; s=$?; [ $s = 0 ] || echo "delete $s"; i=$((i+1)); done`
	var cs []*child
	for i := 0; i < 2; i++ {
		cs = append(cs, newChild([]string{"LOCKPIPE_LOG_FILTER=error"}, "/bin/sh", "-c", loop, bin, p).start(t))
	}
	made := 0
	for cs[0].running() || cs[1].running() {
		if syscall.Mkfifo(p, 0o600) == nil {
			made++
		}
		time.Sleep(100 * time.Microsecond) // often enough to race every delete, without a core of its own
	}
	for _, c := range cs {
		if st := c.status(t); st != 0 || c.stdout.String() != "" {
			b, _ := os.ReadFile(p + ".err")
			t.Errorf("status %d, failures %q, stderr %q", st, c.stdout.String(), b)
		}
	}
	t.Logf("%d pipes made while 200 deletes ran", made)
	if l := leftovers(t, filepath.Dir(p)); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

// TestInstallRaced puts a symbolic link, a named pipe, a directory or a new
// regular file at DIR/lockpipe while install copies (strace holds its fsync):
// the first three are left exactly as they were (17), the file is replaced.
func TestInstallRaced(t *testing.T) {
	t.Parallel()
	for _, r := range []struct {
		name   string
		make   func(p string) error
		status int
	}{
		{"symbolic link", func(p string) error { return os.Symlink("/etc/passwd", p) }, 17},
		{"named pipe", func(p string) error { return syscall.Mkfifo(p, 0o600) }, 17},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, 17},
		{"regular file", func(p string) error { return os.WriteFile(p, []byte("old"), 0o755) }, 0},
	} {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dst := filepath.Join(dir, "lockpipe")
			log := filepath.Join(t.TempDir(), "log")
			c := traced(t, log, "fsync:delay_enter=2000000", "install", dir)
			waitFor(t, "install held in its fsync", func() bool { b, _ := os.ReadFile(log); return strings.Contains(string(b), "fsync(") })
			must(t, r.make(dst))
			// Swapped out and back, it keeps all but its ctime.
			unchanged := func() string { return regexp.MustCompile(` ctime=\d+`).ReplaceAllString(snapshot(t, dst), "") }
			before := unchanged()
			st := c.status(t)
			if st != r.status || st != 0 && !strings.Contains(c.stderr.String(), " at "+strconv.Quote(dst)+", not a regular file; leaving it untouched") {
				t.Errorf("status %d, stderr %q", st, c.stderr.String())
			}
			if after := unchanged(); r.status != 0 && after != before {
				t.Errorf("changed:\n%s\nbecame:\n%s", before, after)
			}
			if b := readIf(r.status == 0, dst); r.status == 0 && len(b) < 1000 {
				t.Errorf("not replaced: %d bytes", len(b))
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Errorf("left behind: %v", l)
			}
		})
	}
}

// TestInstallKilledThenAsPID1 kills an install in the middle of its copy,
// then installs into the same directory as PID 1, twice at once: nothing is
// left behind to get in the way, and both succeed.
func TestInstallKilledThenAsPID1(t *testing.T) {
	t.Parallel()
	needNative(t)
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "log")
	c := traced(t, log, "fsync:delay_enter=2000000", "install", dir)
	waitFor(t, "install held in its fsync", func() bool { b, _ := os.ReadFile(log); return strings.Contains(string(b), "fsync(") })
	syscall.Kill(onlyChild(c.pid()), syscall.SIGKILL)
	c.status(t)
	if l, _ := os.ReadDir(dir); len(l) != 0 {
		t.Errorf("a killed install left %v", l)
	}
	var pair []*child
	for i := 0; i < 2; i++ {
		pair = append(pair, newChild(nil, "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", bin, "install", dir).start(t))
	}
	for _, u := range pair {
		if st := u.status(t); st != 0 {
			t.Errorf("install as PID 1: status %d, stderr %q", st, u.stderr.String())
		}
	}
	if l, _ := os.ReadDir(dir); len(l) != 1 {
		t.Errorf("want only lockpipe, found %v", l)
	}
}
