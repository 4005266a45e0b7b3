package main

// Several pipes at once: -p given several times. read and write wait for
// every pipe, in any order, in one process (--any: the first); hold holds
// them all, run waits on them as read does; create, delete and exists act
// on each, touching nothing when one of them is not a pipe.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// pipes returns n paths in one fresh directory.
func pipes(t *testing.T, n int) []string {
	dir := t.TempDir()
	ps := make([]string, n)
	for i := range ps {
		ps[i] = filepath.Join(dir, fmt.Sprintf("p%d", i))
	}
	return ps
}

// withPaths returns args with -p PATH for each path.
func withPaths(args []string, paths []string) []string {
	for _, p := range paths {
		args = append(args, "-p", p)
	}
	return args
}

// TestSeveralReleasedInAnyOrder checks that a reader of three pipes is
// released only once every one has released it, whatever releases each and
// in whatever order: a write, a delete, the end of a hold, a latch fired before.
func TestSeveralReleasedInAnyOrder(t *testing.T) {
	t.Parallel()
	releases := map[string]func(t *testing.T, p string){
		"write":  func(t *testing.T, p string) { lockpipe(t, nil, "write", "-p", p) },
		"delete": func(t *testing.T, p string) { lockpipe(t, nil, "delete", "-p", p) },
		"hold":   func(t *testing.T, p string) { lockpipe(t, nil, "hold", "-p", p, "--", "true") },
	}
	for _, order := range [][3]string{{"write", "delete", "hold"}, {"hold", "write", "delete"}, {"delete", "hold", "write"}} {
		t.Run(strings.Join(order[:], ","), func(t *testing.T) {
			t.Parallel()
			ps := pipes(t, 4)
			lockpipe(t, nil, "hold", "-p", ps[3], "--", "true") // a hold already ended: passes at once
			r := spawn(t, nil, withPaths([]string{"read"}, ps)...)
			blocked(t, r.pid())
			for i, how := range order {
				waitFor(t, "the reader waiting on "+ps[i], func() bool { return waitsOn(t, r.pid(), ps[i]) })
				releases[how](t, ps[i])
				if i < 2 {
					waitFor(t, "the reader still waiting", func() bool { w, _ := waiting(r.pid()); return w })
				}
			}
			if st := r.status(t); st != 0 {
				t.Errorf("status %d, stderr %q", st, r.stderr.String())
			}
		})
	}
}

// waitsOn reports whether pid waits on the pipe at p, as status finds it.
func waitsOn(t *testing.T, pid int, p string) bool {
	_, out, _ := lockpipe(t, nil, "status", "-p", p)
	return strings.Contains(out, " pid="+strconv.Itoa(pid)+" state=waiting")
}

// TestSeveralWriters checks write on several pipes: each pipe's readers are
// released as they come, in any order, and the writer ends with the last.
func TestSeveralWriters(t *testing.T) {
	t.Parallel()
	ps := pipes(t, 3)
	w := spawn(t, nil, withPaths([]string{"write"}, ps)...)
	blocked(t, w.pid())
	for i := len(ps) - 1; i >= 0; i-- {
		if st, _, stderr := lockpipe(t, nil, "read", "-p", ps[i]); st != 0 {
			t.Fatalf("reader of %s: %d %q", ps[i], st, stderr)
		}
	}
	if st := w.status(t); st != 0 {
		t.Errorf("writer: %d %q", st, w.stderr.String())
	}
}

// TestAny checks --any: the first pipe that releases ends the wait, and CMD runs.
func TestAny(t *testing.T) {
	t.Parallel()
	ps := pipes(t, 3)
	marker := filepath.Join(t.TempDir(), "ran")
	r := spawn(t, nil, withPaths([]string{"read", "--any"}, ps)...)
	r2 := spawn(t, nil, append(withPaths([]string{"read", "--any"}, ps), "--", "touch", marker)...)
	blocked(t, r.pid())
	blocked(t, r2.pid())
	lockpipe(t, nil, "write", "-p", ps[1])
	for _, c := range []*child{r, r2} {
		if st := c.status(t); st != 0 || !strings.Contains(c.stderr.String(), line("INFO", "read from pipe at", ps[1])) {
			t.Errorf("status %d, stderr %q", st, c.stderr.String())
		}
	}
	if !there(marker) {
		t.Error("CMD did not run")
	}
	if st, _, stderr := lockpipe(t, nil, "read", "--any", "-p", ps[0]); st != 22 || !strings.Contains(stderr, "--any chooses among several pipes") {
		t.Errorf("--any with one pipe: %d %q", st, stderr)
	}
}

// TestSeveralTimeout checks the line of a timeout on several pipes: each pipe
// still waiting, and why: nobody has written to it, held by a PID, nobody reads it.
func TestSeveralTimeout(t *testing.T) {
	t.Parallel()
	ps := pipes(t, 3)
	h, _ := startHold(t, ps[1], "sleep", "3600")
	lockpipe(t, nil, "hold", "-p", ps[2], "--", "true")
	st, _, stderr := lockpipe(t, nil, withPaths([]string{"read", "-t", "300ms"}, ps)...)
	want := fmt.Sprintf("timed out after 300ms while reading from pipes at %q, %q, %q; still waiting: %q (nobody has written to it), %q (held by PID %d)",
		ps[0], ps[1], ps[2], ps[0], ps[1], h.pid())
	if st != 110 || !strings.Contains(stderr, "[WARN  lockpipes] "+want+"\n") {
		t.Errorf("read: status %d, stderr %q; want %q", st, stderr, want)
	}
	st, _, stderr = lockpipe(t, nil, withPaths([]string{"write", "-t", "300ms"}, ps[:1])...)
	if st != 110 {
		t.Errorf("write: status %d, stderr %q", st, stderr)
	}
	st, _, stderr = lockpipe(t, nil, "write", "-t", "300ms", "-p", ps[0], "-p", ps[1])
	if want := fmt.Sprintf("still waiting: %q (nobody reads it)", ps[0]); st != 110 || !strings.Contains(stderr, want) {
		t.Errorf("write: status %d, stderr %q; want %q", st, stderr, want)
	}
}

// TestSeveralFileCommands checks create, exists and delete on several paths,
// and that when one holds something else, nothing is created or deleted (17).
func TestSeveralFileCommands(t *testing.T) {
	t.Parallel()
	ps := pipes(t, 3)
	if st, _, _ := lockpipe(t, nil, withPaths([]string{"exists"}, ps)...); st != 1 {
		t.Errorf("exists on nothing: %d", st)
	}
	if st, _, stderr := lockpipe(t, nil, withPaths([]string{"create"}, ps)...); st != 0 || !isPipe(ps[0]) || !isPipe(ps[2]) {
		t.Errorf("create: %d %q", st, stderr)
	}
	if st, _, _ := lockpipe(t, nil, withPaths([]string{"exists"}, ps)...); st != 0 {
		t.Errorf("exists on three pipes: %d", st)
	}
	must(t, os.Remove(ps[1]))
	if st, _, _ := lockpipe(t, nil, withPaths([]string{"exists"}, ps)...); st != 1 {
		t.Errorf("exists with one missing: %d", st)
	}
	must(t, os.WriteFile(ps[1], []byte("the user's\n"), 0o644))
	for _, cmd := range []string{"create", "delete", "exists"} {
		extra := append(pipes(t, 1), ps...) // a path that does not exist yet comes first
		checkBad(t, nil, ps[1], 17, "found a regular file at %q, not a named pipe; leaving it untouched", withPaths([]string{bin, cmd}, extra)...)
		if there(extra[0]) || !isPipe(ps[0]) || !isPipe(ps[2]) {
			t.Errorf("%s touched the other paths", cmd)
		}
	}
	must(t, os.Remove(ps[1]))
	if st, _, stderr := lockpipe(t, nil, withPaths([]string{"delete"}, ps)...); st != 0 || there(ps[0]) || there(ps[2]) {
		t.Errorf("delete: %d %q", st, stderr)
	}
}

// TestSeveralHoldAndRun checks hold on several pipes, which holds them all
// until CMD ends, and run on several, which waits on them as read does.
func TestSeveralHoldAndRun(t *testing.T) {
	t.Parallel()
	ps := pipes(t, 2)
	h := spawn(t, nil, withPaths([]string{"hold"}, ps)...)
	waitFor(t, "both held", func() bool { return holds(h.pid(), ps[0]) && holds(h.pid(), ps[1]) })
	r := spawn(t, nil, append(withPaths([]string{"run"}, ps), "--", "sleep", "3600")...)
	blocked(t, r.pid())
	var readers []*child
	for _, p := range ps {
		c := spawn(t, nil, "read", "-p", p)
		blocked(t, c.pid())
		readers = append(readers, c)
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	if st := h.status(t); st != 143 {
		t.Errorf("hold: %d", st)
	}
	for i, c := range readers {
		released(t, c, ps[i])
	}
	if st := r.status(t); st != 0 || strings.Count(r.stderr.String(), "the hold on pipe at") != 2 {
		t.Errorf("run: %d %q", st, r.stderr.String())
	}
	if st, _, stderr := lockpipe(t, nil, append(withPaths([]string{"read", "--stdin"}, ps), "--", "cat")...); st != 22 || !strings.Contains(stderr, "connects one pipe to CMD") {
		t.Errorf("--stdin with two pipes: %d %q", st, stderr)
	}
}
