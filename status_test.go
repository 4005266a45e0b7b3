package main

// status: who holds, reads and waits on a pipe, from /proc, without ever
// opening it, in lines a shell can parse; it exits as exists does.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestStatus checks status's lines while a holder, a reader of the held pipe,
// and lockpipes waiting to read and to write are there: each listed with its
// PID and command, none released, and nothing opened on the way (strace).
func TestStatus(t *testing.T) {
	t.Parallel()
	needNative(t) // under qemu-user, a command line begins with qemu's
	needRoot(t, "strace")
	ps := pipes(t, 3)
	h, _ := startHold(t, ps[0], "sleep", "3600")
	r := spawn(t, nil, "read", "-p", ps[0])
	w := spawn(t, nil, "write", "-p", ps[1])
	rq := spawn(t, nil, "read", "-p", ps[2])
	for _, c := range []*child{r, w, rq} {
		blocked(t, c.pid())
	}
	log := filepath.Join(t.TempDir(), "strace.log")
	c := newChild(nil, "strace", "-f", "-qq", "-o", log, "-e", "trace=open,openat,openat2", bin, "status", "-p", ps[0], "-p", ps[1], "-p", ps[2]).start(t)
	if st := c.status(t); st != 0 {
		t.Fatalf("status: %d %q", st, c.stderr.String())
	}
	cmd := func(c *child) string { return strconv.Quote(strings.Join(c.cmd.Args, " ")) }
	q0, q1, q2 := strconv.Quote(ps[0]), strconv.Quote(ps[1]), strconv.Quote(ps[2])
	// Processes come in PID order, and PIDs wrap: the reader may have the lower.
	first := fmt.Sprintf("%s holder pid=%d state=open cmd=%s", q0, h.pid(), cmd(h))
	second := fmt.Sprintf("%s reader pid=%d state=reading cmd=%s", q0, r.pid(), cmd(r))
	if r.pid() < h.pid() {
		first, second = second, first
	}
	want := []string{
		q0 + " pipe mode=0600 uid=0 gid=0",
		q0 + " record held",
		q0 + " held yes",
		first,
		second,
		q1 + " pipe mode=0600 uid=0 gid=0",
		q1 + " record none",
		q1 + " held no",
		fmt.Sprintf("%s writer pid=%d state=waiting cmd=%s", q1, w.pid(), cmd(w)),
		q2 + " pipe mode=0600 uid=0 gid=0",
		q2 + " record none",
		q2 + " held no",
		fmt.Sprintf("%s reader pid=%d state=waiting cmd=%s", q2, rq.pid(), cmd(rq)),
	}
	got := strings.Split(strings.TrimSuffix(c.stdout.String(), "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("status printed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []*child{r, w, rq} {
		if !stillWaits(c.pid()) {
			t.Errorf("%v was released by status", c.cmd.Args)
		}
	}
	b, _ := os.ReadFile(log)
	opened := regexp.MustCompile(`open(at2?)?\([^"]*"(/proc/\d+/fd/\d+|` + regexp.QuoteMeta(filepath.Dir(ps[0])) + `/p\d)"`)
	if m := opened.FindString(string(b)); m != "" || !strings.Contains(string(b), "openat(") {
		t.Errorf("status opened %q, or strace saw nothing:\n%s", m, b)
	}
}

// TestStatusExits checks status on nothing and on something that is not a
// named pipe: its line, and the status exists would give.
func TestStatusExits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing, file := filepath.Join(dir, "missing"), filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o644))
	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{missing, 1, strconv.Quote(missing) + " missing\n"},
		{filepath.Join(dir, "no", "p"), 1, strconv.Quote(filepath.Join(dir, "no", "p")) + " missing\n"},
		{file, 17, strconv.Quote(file) + " other what=\"a regular file\"\n"},
	} {
		if st, stdout, _ := lockpipe(t, nil, "status", "-p", c.path); st != c.status || stdout != c.says {
			t.Errorf("status -p %s: %d, %q; want %d, %q", c.path, st, stdout, c.status, c.says)
		}
	}
	p := pipePath(t)
	lockpipe(t, nil, "create", "-p", p)
	if st, _, _ := lockpipe(t, nil, "status", "-p", p, "-p", missing); st != 1 {
		t.Errorf("status on a pipe and nothing: %d", st)
	}
}

// TestStatusUnprivileged runs status as a user who cannot look into root's
// processes: it says how many it could not see, lists none of them, and
// still exits 0; and as PID 1 of a PID namespace, which sees none outside.
func TestStatusUnprivileged(t *testing.T) {
	t.Parallel()
	needRoot(t, "unshare")
	needNative(t)
	p := pipePath(t)
	os.Chmod(filepath.Dir(p), 0o755)
	os.Chmod(filepath.Dir(filepath.Dir(p)), 0o755)
	r := spawn(t, nil, "read", "-p", p)
	blocked(t, r.pid())
	c := newChild(nil, bin, "status", "-p", p)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	c.start(t)
	if st := c.status(t); st != 0 || strings.Contains(c.stdout.String(), "pid=") || !regexp.MustCompile(`" unseen [1-9]\d*\n`).MatchString(c.stdout.String()) {
		t.Errorf("as another user: status %d, stdout %q", st, c.stdout.String())
	}
	u := newChild(nil, "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", bin, "status", "-p", p).start(t)
	if st := u.status(t); st != 0 || strings.Contains(u.stdout.String(), "pid=") || !strings.Contains(u.stdout.String(), "held no") {
		t.Errorf("as PID 1: status %d, stdout %q", st, u.stdout.String())
	}
	if !stillWaits(r.pid()) {
		t.Error("the reader was released")
	}
}
