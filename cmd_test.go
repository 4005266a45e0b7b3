package main

// CMD after --: read and write become it once released, and only then, with
// the state a careful program expects (same PID, no descriptor or blocked
// signal of lockpipe's, ignored signals still ignored), looked up as execvp does.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRunCommand checks that read and write become CMD once released, and only then.
func TestRunCommand(t *testing.T) {
	t.Parallel()
	// CMD reports its PID, descriptors, signal state and directory, as the process it became,
	// with builtins only: dash blocks every signal around each vfork and holds pipe ends
	// while a pipeline starts, so a child reading /proc/$$ would see the shell's state, not lockpipe's.
	report := `echo "$$ $*"; n=0; while [ $n -lt 1024 ]; do [ -h /proc/$$/fd/$n ] && printf '%s ' $n; n=$((n+1)); done; echo
		while read -r l; do case $l in SigBlk*|SigIgn*) echo "$l";; esac; done </proc/$$/status; pwd`
	// Released by a partner that comes later, or that was there first (met at once, before any look at the path).
	for _, side := range [][3]string{{"read", "write", "later"}, {"write", "read", "later"}, {"read", "write", "first"}, {"write", "read", "first"}} {
		t.Run(side[0]+" with the "+side[1]+" "+side[2], func(t *testing.T) {
			p := pipePath(t)
			dir := t.TempDir()
			var partner *child
			if side[2] == "first" {
				partner = spawn(t, nil, side[1], "-p", p)
				blocked(t, partner.pid())
			}
			c := newChild([]string{"X=kept"}, bin, side[0], "-p", p, "--", "/bin/sh", "-c", report+`; echo "X=$X"; read -r l; echo "stdin: $l"; exit 3`, "sh", "-p", "x", "--timeout", "y")
			c.cmd.Dir, c.cmd.Stdin = dir, strings.NewReader("given\n")
			c.start(t)
			if partner == nil {
				release(t, c.pid(), side[1], p)
			}
			if st := c.status(t); st != 3 {
				t.Fatalf("status %d, stderr %q", st, c.stderr.String())
			}
			if partner != nil && partner.status(t) != 0 {
				t.Errorf("%s: status %d, stderr %q", side[1], partner.status(t), partner.stderr.String())
			}
			want := fmt.Sprintf("%d -p x --timeout y\n%s\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n%s\nX=kept\nstdin: given\n", c.pid(), inheritedFDs(t), dir)
			if c.stdout.String() != want {
				t.Errorf("CMD printed:\n%s\nwant:\n%s", c.stdout.String(), want)
			}
		})
	}
	t.Run("ignored signals stay ignored", func(t *testing.T) {
		p := pipePath(t)
		c := newChild(nil, "/bin/sh", "-c", `trap "" HUP INT; exec "$0" read -p "$1" -- /bin/sh -c 'grep "^SigIgn" /proc/$$/status'`, bin, p).start(t)
		release(t, c.pid(), "write", p)
		if st := c.status(t); st != 0 || c.stdout.String() != "SigIgn:\t0000000000000003\n" {
			t.Errorf("status %d, stdout %q", st, c.stdout.String())
		}
	})
	t.Run("looked up as execvp does", func(t *testing.T) {
		a, b, p := t.TempDir(), t.TempDir(), pipePath(t)
		must(t, os.WriteFile(filepath.Join(a, "tool"), []byte("#!/bin/sh\necho from a\n"), 0o644)) // not executable: skipped
		writeExecutable(t, filepath.Join(b, "tool"), []byte("#!/bin/sh\necho from b\n"))
		c := newChild([]string{"PATH=" + a + ":" + b}, bin, "read", "-p", p, "--", "tool").start(t)
		release(t, c.pid(), "write", p)
		if st := c.status(t); st != 0 || c.stdout.String() != "from b\n" {
			t.Errorf("status %d, stdout %q, stderr %q", st, c.stdout.String(), c.stderr.String())
		}
	})
	t.Run("looked up when released", func(t *testing.T) {
		p, bindir := pipePath(t), t.TempDir()
		c := newChild([]string{"PATH=" + bindir}, bin, "read", "-p", p, "--", "late-tool").start(t)
		blocked(t, c.pid())
		writeExecutable(t, filepath.Join(bindir, "late-tool"), []byte("#!/bin/sh\necho installed while waiting\n"))
		release(t, c.pid(), "write", p)
		if st := c.status(t); st != 0 || c.stdout.String() != "installed while waiting\n" {
			t.Errorf("status %d, stdout %q, stderr %q", st, c.stdout.String(), c.stderr.String())
		}
	})
	bad := t.TempDir()
	writeExecutable(t, filepath.Join(bad, "text"), []byte("no interpreter line\n"))
	must(t, os.WriteFile(filepath.Join(bad, "private"), []byte("#!/bin/sh\n"), 0o644))
	for _, r := range []struct {
		name, cmd, path string
		status          int
		says            string
	}{
		{"not found", "no-such-tool", "", 127, `cannot run "no-such-tool": not found in PATH`},
		{"no such file", bad + "/missing", "", 127, "no such file or directory"},
		{"not executable", bad + "/private", "", 126, "permission denied"},
		{"no interpreter", bad + "/text", "", 126, "exec format error"},
		{"only a non-executable in PATH", "private", bad, 126, `cannot run "private": "` + bad + `/private": permission denied`},
	} {
		t.Run(r.name, func(t *testing.T) {
			p := pipePath(t)
			var env []string
			if r.path != "" {
				env = []string{"PATH=" + r.path}
			}
			c := spawn(t, env, "read", "-p", p, "--", r.cmd)
			release(t, c.pid(), "write", p)
			if st := c.status(t); st != r.status || !strings.HasSuffix(c.stderr.String(), r.says+"\n") || !strings.Contains(c.stderr.String(), "[ERROR lockpipes] cannot run ") {
				t.Errorf("status %d, stderr %q", st, c.stderr.String())
			}
		})
	}
	t.Run("never after a timeout or a signal", func(t *testing.T) {
		p := pipePath(t)
		marker := filepath.Join(t.TempDir(), "ran")
		if st, _, _ := lockpipe(t, nil, "read", "-t", "100ms", "-p", p, "--", "/bin/touch", marker); st != 110 {
			t.Errorf("timeout: status %d", st)
		}
		c := spawn(t, nil, "write", "-p", p, "--", "/bin/touch", marker)
		blocked(t, c.pid())
		c.cmd.Process.Signal(syscall.SIGTERM)
		if st := c.status(t); st != 143 {
			t.Errorf("signal: status %d", st)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Error("CMD ran")
		}
	})
	t.Run("becomes PID 1", func(t *testing.T) {
		p := pipePath(t)
		u, pid := asPID1(t, nil, "read", "-p", p, "--", "/bin/sh", "-c", "echo $$")
		release(t, pid, "write", p)
		if st := u.status(t); st != 0 || u.stdout.String() != "1\n" {
			t.Errorf("status %d, stdout %q", st, u.stdout.String())
		}
	})
}
