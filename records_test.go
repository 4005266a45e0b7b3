package main

// A hold's record: which run of a deployment it belongs to (create begins a
// new one; another boot's does not count), and how its holder ended, which
// read --status and run --status report.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// recordOf returns what the record beside the pipe at p holds, or "".
func recordOf(p string) string {
	s, _ := os.Readlink(filepath.Join(filepath.Dir(p), ".lockpipe-record-"+filepath.Base(p)))
	return s
}

// TestNewRun checks the restart of a deployment: a hold ran and ended; a
// sidecar's run that starts before the app's next hold passes at once when
// nothing began a new run, and waits for that hold once create has.
func TestNewRun(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	if st, _, _ := lockpipe(t, nil, "hold", "-p", p, "--", "true"); st != 0 {
		t.Fatalf("the first run's hold: %d", st)
	}
	// Without the step: the stale record releases the new run's sidecar at once.
	if st, _, stderr := lockpipe(t, nil, "run", "-p", p, "--", "sleep", "3600"); st != 0 || !strings.Contains(stderr, "was held and no longer is") {
		t.Errorf("run without create: status %d, stderr %q", st, stderr)
	}
	// With it: create clears the record, and run waits for the next holder.
	st, _, stderr := lockpipe(t, nil, "create", "-p", p)
	if want := line("INFO", "cleared the record of an earlier run of pipe at", p); st != 0 || !strings.Contains(stderr, strings.TrimSuffix(want, "\n")) || recordOf(p) != "" {
		t.Errorf("create: status %d, stderr %q, record %q", st, stderr, recordOf(p))
	}
	r, cmd := startRun(t, p, nil, "sleep", "3600")
	h, held := startHold(t, p, "sleep", "3600")
	if !stillWaits(r.pid()) {
		t.Fatalf("run did not wait for the new hold: %q", r.stderr.String())
	}
	syscall.Kill(held, syscall.SIGTERM)
	if st := h.status(t); st != 143 {
		t.Errorf("hold: %d", st)
	}
	if st := r.status(t); st != 0 || !strings.Contains(r.stderr.String(), "the hold on pipe at "+strconv.Quote(p)+" ended") {
		t.Errorf("run: status %d, stderr %q", st, r.stderr.String())
	}
	waitFor(t, "CMD of run stopped", func() bool { s := procState(cmd); return s == "" || s == "Z" })
}

// TestRecordOfAnotherRun puts records by hand beside a pipe, as another
// boot (another boot id) or another pipe at the same name (another inode, or
// the same inode number given again, with another modification time) left
// them: none counts, a reader waits, status calls them stale, create clears them.
func TestRecordOfAnotherRun(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	must(t, err)
	boot := strings.TrimSpace(string(b))
	for _, c := range []struct {
		name string
		line func(ino uint64, mtime int64) string
	}{
		{"another boot", func(ino uint64, mtime int64) string {
			return fmt.Sprintf("lockpipe 1 00000000-0000-4000-8000-000000000000 %d %d exit 0", ino, mtime)
		}},
		{"another inode", func(ino uint64, mtime int64) string {
			return fmt.Sprintf("lockpipe 1 %s %d %d exit 0", boot, ino+1, mtime)
		}},
		{"the same inode number given again", func(ino uint64, mtime int64) string {
			return fmt.Sprintf("lockpipe 1 %s %d %d exit 0", boot, ino, mtime-1)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := pipePath(t)
			lockpipe(t, nil, "create", "-p", p)
			var st syscall.Stat_t
			must(t, syscall.Stat(p, &st))
			rec := filepath.Join(filepath.Dir(p), ".lockpipe-record-pipe")
			must(t, os.Symlink(c.line(st.Ino, st.Mtim.Nano()), rec))
			if st, _, stderr := lockpipe(t, nil, "read", "-t", "200ms", "-p", p); st != 110 {
				t.Errorf("read: status %d, stderr %q", st, stderr)
			}
			if _, stdout, _ := lockpipe(t, nil, "status", "-p", p); !strings.Contains(stdout, strconv.Quote(p)+" record stale\n") {
				t.Errorf("status: %q", stdout)
			}
			if st, _, _ := lockpipe(t, nil, "create", "-p", p); st != 0 || recordOf(p) != "" {
				t.Errorf("create left the record %q", recordOf(p))
			}
		})
	}
}

// TestVerdict checks what readers learn of a hold's end, however it ended:
// with --status, a reader that waited through the hold and one that came
// after it exit with CMD's status, 112 when lockpipe was killed with CMD
// and could say nothing; CMD after -- runs only on 0; without --status they pass.
func TestVerdict(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		cmd    string
		end    string // how the test ends it
		status int
		says   string
	}{
		{"exit 0", `read x < "$0"; exit 0`, "", 0, "its command exited with status 0"},
		{"exit 3", `read x < "$0"; exit 3`, "", 3, "its command exited with status 3"},
		{"CMD killed", `exec sleep 3600`, "CMD", 137, "its command was ended by SIGKILL (status 137)"},
		{"lockpipe and CMD killed", `exec sleep 3600`, "both", 112, "without a verdict: its holder was killed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, q, marker := pipePath(t), pipePath(t), filepath.Join(t.TempDir(), "ran")
			must(t, syscall.Mkfifo(q, 0o600))
			h, cmd := startHold(t, p, "/bin/sh", "-c", c.cmd, q)
			during := spawn(t, nil, "read", "--status", "-p", p, "--", "touch", marker)
			plain := spawn(t, nil, "read", "-p", p)
			blocked(t, during.pid())
			blocked(t, plain.pid())
			switch c.end {
			case "":
				must(t, os.WriteFile(q, []byte("go\n"), 0o600))
			case "CMD":
				syscall.Kill(cmd, syscall.SIGKILL)
			case "both":
				syscall.Kill(h.pid(), syscall.SIGKILL)
				syscall.Kill(cmd, syscall.SIGKILL)
			}
			h.status(t)
			if st := during.status(t); st != c.status || !strings.Contains(during.stderr.String(), c.says) || there(marker) != (c.status == 0) {
				t.Errorf("reader during the hold: status %d, CMD ran %v, stderr %q", st, there(marker), during.stderr.String())
			}
			if st := plain.status(t); st != 0 {
				t.Errorf("reader without --status: %d", st)
			}
			if st, _, stderr := lockpipe(t, nil, "read", "--status", "-p", p); st != c.status || !strings.Contains(stderr, "was held and no longer is") || !strings.Contains(stderr, c.says) {
				t.Errorf("reader after the hold: status %d, stderr %q", st, stderr)
			}
		})
	}
}

// TestVerdictOfSeveralHolders checks that when holders overlap, the first
// of them that failed gives the hold's verdict, whatever the others did.
func TestVerdictOfSeveralHolders(t *testing.T) {
	t.Parallel()
	p, q1, q2 := pipePath(t), pipePath(t), pipePath(t)
	must(t, syscall.Mkfifo(q1, 0o600))
	must(t, syscall.Mkfifo(q2, 0o600))
	h1, _ := startHold(t, p, "/bin/sh", "-c", `read x < "$0"; exit 3`, q1)
	h2, _ := startHold(t, p, "/bin/sh", "-c", `read x < "$0"; exit 0`, q2)
	r := spawn(t, nil, "read", "--status", "-p", p)
	blocked(t, r.pid())
	must(t, os.WriteFile(q1, []byte("go\n"), 0o600))
	if st := h1.status(t); st != 3 {
		t.Errorf("first holder: %d", st)
	}
	if !stillWaits(r.pid()) {
		t.Fatal("released while a holder still holds")
	}
	must(t, os.WriteFile(q2, []byte("go\n"), 0o600))
	h2.status(t)
	if st := r.status(t); st != 3 {
		t.Errorf("reader: status %d, stderr %q", st, r.stderr.String())
	}
}

// TestRunStatus checks run --status: released by a hold's end, it stops CMD
// and exits with the hold's status; released by a write, with 0.
func TestRunStatus(t *testing.T) {
	t.Parallel()
	p, q := pipePath(t), pipePath(t)
	must(t, syscall.Mkfifo(q, 0o600))
	h, _ := startHold(t, p, "/bin/sh", "-c", `read x < "$0"; exit 4`, q)
	r, cmd := startRun(t, p, []string{"--status"}, "sleep", "3600")
	must(t, os.WriteFile(q, []byte("go\n"), 0o600))
	h.status(t)
	if st := r.status(t); st != 4 || !strings.Contains(r.stderr.String(), "sent SIGTERM to its process group") {
		t.Errorf("run --status: %d, stderr %q", st, r.stderr.String())
	}
	waitFor(t, "CMD of run stopped", func() bool { s := procState(cmd); return s == "" || s == "Z" })
	p2 := pipePath(t)
	r, _ = startRun(t, p2, []string{"--status"}, "sleep", "3600")
	lockpipe(t, nil, "write", "-p", p2)
	if st := r.status(t); st != 0 {
		t.Errorf("run --status released by a write: %d, stderr %q", st, r.stderr.String())
	}
}

// TestRecordFiles checks what is on disk: a hold leaves one symbolic link
// beside the pipe; exists is not confused by it, delete removes it with the
// pipe, and a record whose pipe is gone does not count for a new one.
func TestRecordFiles(t *testing.T) {
	t.Parallel()
	p := pipePath(t)
	lockpipe(t, nil, "hold", "-p", p, "--", "/bin/sh", "-c", "exit 2")
	var st syscall.Stat_t
	must(t, syscall.Stat(p, &st))
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if want := fmt.Sprintf("lockpipe 1 %s %d %d exit 2", strings.TrimSpace(string(boot)), st.Ino, st.Mtim.Nano()); recordOf(p) != want {
		t.Errorf("record %q, want %q", recordOf(p), want)
	}
	if st, _, _ := lockpipe(t, nil, "exists", "-p", p); st != 0 {
		t.Errorf("exists: %d", st)
	}
	if st, _, _ := lockpipe(t, nil, "delete", "-p", p); st != 0 || recordOf(p) != "" {
		t.Errorf("delete: status %d, record left %q", st, recordOf(p))
	}
	if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestVerdictAsPID1 checks read --status as PID 1, released by a hold's end.
func TestVerdictAsPID1(t *testing.T) {
	t.Parallel()
	p, q := pipePath(t), pipePath(t)
	must(t, syscall.Mkfifo(q, 0o600))
	h, _ := startHold(t, p, "/bin/sh", "-c", `read x < "$0"; exit 5`, q)
	u, pid := asPID1(t, nil, "read", "--status", "-p", p)
	blocked(t, pid)
	must(t, os.WriteFile(q, []byte("go\n"), 0o600))
	h.status(t)
	if st := u.status(t); st != 5 {
		t.Errorf("status %d, stderr %q", st, u.stderr.String())
	}
}

// TestReadlinkat checks how a record is read: a short name from the stack,
// with nothing allocated, and a long one or one with a NUL as the kernel
// would have them.
func TestReadlinkat(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("d/", 140) + "link" // 284 bytes: past the stack's copy
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(long)), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"link", long} {
		if err := os.Symlink("target:"+name[:4], filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(d)
	rows := []struct {
		name, link string
		err        error
	}{
		{"short", "link", nil},
		{"missing", "nothing", syscall.ENOENT},
		{"long", long, nil},
		{"NUL", "li\x00nk", syscall.EINVAL},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			got, err := readlinkat(d, row.link)
			want := ""
			if row.err == nil {
				want = "target:" + row.link[:4]
			}
			if got != want || err != row.err {
				t.Errorf("readlinkat(%q) = %q, %v; want %q, %v", row.link, got, err, want, row.err)
			}
		})
	}
	if n := testing.AllocsPerRun(20, func() { readlinkat(d, "nothing") }); n != 0 && allocationsCounted() {
		t.Errorf("looking for a missing record allocated %v times; want 0", n)
	}
}

// TestHoldEndedAsReaderLooked checks a reader that looked for the record
// before a hold wrote it, or while the hold rewrote it (no record for an
// instant), and opens the pipe once the hold has gone: it reads the record
// the hold left and passes at once, where before it waited for a writer
// that would never come. In process, on a real pipe: the waiter's steps,
// with the hold's end between its look and its open.
func TestHoldEndedAsReaderLooked(t *testing.T) {
	saved := logger
	defer func() { logger = saved }()
	logger.w = io.Discard
	p := pipePath(t)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWait(&request{paths: []string{p}}, true)
	wr := &w.waiters[0]
	if end, err := wr.take(); end != pending || err != nil {
		t.Fatalf("take: %v %v", end, err)
	}
	defer wr.h.close()
	wr.prepare() // where the reader looked for the record until now
	defer wr.watch.stop()
	hold, err := takeHandle(p, true) // the hold, ending: its record written, then its descriptor gone
	if err != nil {
		t.Fatal(err)
	}
	defer hold.close()
	hold.endHold(record{how: "exit", n: 0})
	end, err := wr.meet()
	wr.deafen()
	if end != holdEnded || err != nil {
		t.Errorf("meet: %v, %v; want the hold's end (%v)", end, err, holdEnded)
	}
}
