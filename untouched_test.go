package main

// Nothing is touched that is not a named pipe: every kind of intruder, bad
// paths, permissions, read-only file systems, anonymous pipes, a path
// swapped while lockpipe is held, and a /proc that is not procfs.

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestNotPipeLeftAlone checks that every command refuses, with 17, anything at the path that is not a named pipe.
func TestNotPipeLeftAlone(t *testing.T) {
	t.Parallel()
	for _, k := range notPipes(t) {
		for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
			t.Run(k.name+"/"+cmd, func(t *testing.T) {
				p := k.make(t)
				before := snapshot(t, p)
				st, _, stderr := lockpipe(t, []string{"LOCKPIPE_TIMEOUT=" + bound.String()}, cmd, "-p", p)
				if st != 17 || !strings.Contains(stderr, "[ERROR lockpipes] found "+k.what+" at "+strconv.Quote(p)+", not a named pipe") {
					t.Errorf("status %d, stderr %q; want 17 naming %s", st, stderr, k.what)
				}
				if after := snapshot(t, p); after != before {
					t.Errorf("changed:\n%s\nbecame:\n%s", before, after)
				}
			})
		}
	}
}

// intruder is one kind of thing that is not a named pipe.
type intruder struct {
	name, what string
	make       func(t *testing.T) string
}

// notPipes lists every kind of non-pipe this machine can make, and symbolic links to each.
func notPipes(t *testing.T) []intruder {
	file := func(content string) func(t *testing.T) string {
		return func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x")
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	dir := func(full bool) func(t *testing.T) string {
		return func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x")
			os.Mkdir(p, 0o755)
			if full {
				os.WriteFile(filepath.Join(p, "keep"), []byte("keep"), 0o644)
			}
			return p
		}
	}
	sock := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "x")
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(fd) })
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: p}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dev := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "x")
		// Same numbers as /dev/null, so that nothing happens even if it were opened.
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Skipf("cannot make a character device (needs root): %v", err)
		}
		return p
	}
	kinds := []intruder{
		{"file", "a regular file", file("precious data\n")},
		{"empty-file", "a regular file", file("")},
		{"dir", "a directory", dir(false)},
		{"full-dir", "a directory", dir(true)},
		{"socket", "a socket", sock},
		{"chardev", "a character device", dev},
	}
	for _, k := range kinds[:len(kinds):len(kinds)] {
		k := k
		kinds = append(kinds, intruder{"link-to-" + k.name, "a symbolic link to " + k.what, func(t *testing.T) string {
			target := k.make(t)
			p := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			return p
		}})
	}
	return kinds
}

// TestBadPaths runs every command against paths that cannot work and checks
// the status, the ERROR line naming path and cause, and that nothing appeared.
func TestBadPaths(t *testing.T) {
	t.Parallel()
	type want struct {
		status int
		says   string // in the last line of stderr
	}
	cmds := []string{"create", "exists", "read", "write", "delete"}
	cases := []struct {
		name  string
		setup func(t *testing.T) string
		want  map[string]want // by command; "*" for the rest
	}{
		{"missing parent", func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "pipe") },
			map[string]want{"*": {2, "cannot create pipe at %q: no such file or directory (a directory on the path is missing)"},
				"exists": {1, "[INFO  lockpipes] pipe does not exist at %q"}, "delete": {0, "[WARN  lockpipes] pipe does not exist at %q"}}},
		{"through a file", func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "file")
			os.WriteFile(f, []byte("data"), 0o644)
			return filepath.Join(f, "pipe")
		}, map[string]want{"*": {20, "cannot check %q: not a directory"}, "create": {20, "cannot create pipe at %q: not a directory"}}},
		{"symlink loop", func(t *testing.T) string {
			d := t.TempDir()
			os.Symlink(filepath.Join(d, "b"), filepath.Join(d, "a"))
			os.Symlink(filepath.Join(d, "a"), filepath.Join(d, "b"))
			return filepath.Join(d, "a")
		}, map[string]want{"*": {40, "cannot check %q: too many levels of symbolic links"}}},
		{"name too long", func(t *testing.T) string { return filepath.Join(t.TempDir(), strings.Repeat("n", 300)) },
			map[string]want{"*": {36, "cannot check %q: file name too long"}, "create": {36, "cannot create pipe at %q: file name too long"}}},
		{"dangling symlink", func(t *testing.T) string {
			d := t.TempDir()
			os.Symlink(filepath.Join(d, "nowhere"), filepath.Join(d, "link"))
			return filepath.Join(d, "link")
		}, map[string]want{"*": {17, "found a dangling symbolic link at %q, not a named pipe; leaving it untouched"},
			"exists": {1, "[INFO  lockpipes] pipe does not exist at %q"}, "delete": {0, "[WARN  lockpipes] pipe does not exist at %q"}}},
	}
	for _, c := range cases {
		for _, cmd := range cmds {
			t.Run(c.name+"/"+cmd, func(t *testing.T) {
				p := c.setup(t)
				w, ok := c.want[cmd]
				if !ok {
					w = c.want["*"]
				}
				checkBad(t, nil, p, w.status, w.says, bin, cmd, "-p", p)
			})
		}
	}
}

// TestPermissionDenied runs lockpipe as uid 65534 against root's directories and pipes.
func TestPermissionDenied(t *testing.T) {
	t.Parallel()
	needRoot(t)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	open := func(t *testing.T) string { // a root-owned directory anyone may enter but not write
		d := t.TempDir()
		for _, x := range []string{filepath.Dir(d), d} {
			os.Chmod(x, 0o755)
		}
		return d
	}
	for _, cmd := range []string{"create", "read", "write"} {
		t.Run("create in "+cmd, func(t *testing.T) {
			p := filepath.Join(open(t), "pipe")
			checkBad(t, nobody, p, 13, "cannot create pipe at %q: permission denied", bin, cmd, "-p", p)
		})
	}
	for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
		t.Run("locked directory "+cmd, func(t *testing.T) {
			locked := filepath.Join(open(t), "locked")
			os.Mkdir(locked, 0o700)
			p := filepath.Join(locked, "pipe")
			syscall.Mkfifo(p, 0o600)
			want := "cannot check %q: permission denied"
			if cmd == "create" {
				want = "cannot create pipe at %q: permission denied"
			}
			checkBad(t, nobody, p, 13, want, bin, cmd, "-p", p)
		})
	}
	for _, cmd := range []string{"read", "write", "delete"} {
		t.Run("root's pipe "+cmd, func(t *testing.T) {
			p := filepath.Join(open(t), "pipe")
			syscall.Mkfifo(p, 0o600)
			want := "cannot open pipe at %q: permission denied"
			if cmd == "delete" { // nobody may write the directory: nothing is moved, nobody released
				want = "cannot delete pipe at %q: permission denied"
			}
			checkBad(t, nobody, p, 13, want, bin, cmd, "-p", p)
			if !isPipe(p) {
				t.Error("the pipe is gone")
			}
		})
	}
}

// TestReadOnlyFilesystem runs lockpipe in a directory bind-mounted read-only in a private mount namespace.
func TestReadOnlyFilesystem(t *testing.T) {
	t.Parallel()
	needRoot(t, "unshare", "mount")
	cases := []struct {
		cmd, existing string
		status        int
		says          string
	}{
		{"create", "", 30, "cannot create pipe at %q: read-only file system"},
		{"read", "", 30, "cannot create pipe at %q: read-only file system"},
		{"write", "", 30, "cannot create pipe at %q: read-only file system"},
		{"exists", "", 1, "[INFO  lockpipes] pipe does not exist at %q"},
		{"delete", "", 0, "[WARN  lockpipes] pipe does not exist at %q"},
		{"delete", "pipe", 30, "cannot delete pipe at %q: read-only file system"},
		{"exists", "pipe", 0, "[INFO  lockpipes] pipe exists at %q"},
	}
	for _, c := range cases {
		t.Run(c.cmd+"/"+c.existing, func(t *testing.T) {
			d := t.TempDir()
			p := filepath.Join(d, "pipe")
			if c.existing != "" {
				syscall.Mkfifo(p, 0o600)
			}
			checkBad(t, nil, p, c.status, c.says, "unshare", "--mount", "/bin/sh", "-c",
				"mount --bind -o ro \"$1\" \"$1\" && exec \"$2\" \"$3\" -p \"$4\"", "sh", d, bin, c.cmd, p)
		})
	}
}

// TestAnonymousPipe checks that a pipe reached through /proc/PID/fd is refused and its data left alone.
func TestAnonymousPipe(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
		r, w, err := os.Pipe()
		must(t, err)
		w.WriteString("a\nb\n")
		w.Close()
		c := newChild(nil, bin, cmd, "-p", "/proc/self/fd/0")
		c.cmd.Stdin = r
		st := c.start(t).status(t)
		rest, _ := io.ReadAll(r)
		r.Close()
		if st != 17 || string(rest) != "a\nb\n" || !strings.Contains(c.stderr.String(), "anonymous pipe") {
			t.Errorf("%s: status %d, left %q, stderr %q", cmd, st, rest, c.stderr.String())
		}
	}
}

// TestVanishingPipe checks the message when the pipe is gone each time lockpipe comes to hold it.
func TestVanishingPipe(t *testing.T) {
	t.Parallel()
	needRoot(t, "strace")
	p := pipePath(t)
	c := newChild(nil, "strace", "-f", "-qq", "-o", "/dev/null", "-P", p, "-e", "inject=openat:error=ENOENT", bin, "read", "-p", p).start(t)
	if st := c.status(t); st != 11 || !strings.Contains(c.stderr.String(), "something keeps removing it (resource temporarily unavailable)") {
		t.Errorf("status %d, stderr %q", st, c.stderr.String())
	}
}

// TestNoNamedPipesHere checks the message on a file system that cannot hold named pipes.
func TestNoNamedPipesHere(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"/sys/kernel/lockpipe-test", "/proc/lockpipe-test", "/proc/self/lockpipe-test"} {
		for _, cmd := range []string{"create", "read", "hold"} {
			if strings.HasPrefix(p, "/sys") && os.Geteuid() != 0 {
				continue // sysfs refuses others with EACCES first
			}
			st, _, stderr := lockpipe(t, nil, cmd, "-p", p)
			if want := "cannot create pipe at " + strconv.Quote(p) + ": the file system there does not support named pipes"; st != 95 || !strings.Contains(stderr, want) {
				t.Errorf("%s -p %s: status %d, stderr %q", cmd, p, st, stderr)
			}
		}
	}
}

// TestSwapUnderneath swaps an intruder in at the path while strace holds
// lockpipe in the call that looks at it, for every command, and checks that
// the swap came while lockpipe was held, that lockpipe refused it (17), and
// that whatever was swapped in was never opened for reading or writing,
// waited on, truncated, replaced or removed.
func TestSwapUnderneath(t *testing.T) {
	t.Parallel()
	needRoot(t, "strace")
	intruders := map[string]func(t *testing.T, p string){
		"file": func(t *testing.T, p string) { must(t, os.WriteFile(p, []byte("precious data\n"), 0o644)) },
		"dir": func(t *testing.T, p string) {
			must(t, os.Mkdir(p, 0o755))
			must(t, os.WriteFile(p+"/keep", []byte("keep"), 0o644))
		},
		"chardev": func(t *testing.T, p string) { must(t, syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3)) },
	}
	type hold struct{ cmd, call string }
	var holds []hold
	for _, cmd := range []string{"create", "exists", "read", "write", "delete"} {
		holds = append(holds, hold{cmd, "openat"}) // the handle's O_PATH open, the first on the path
	}
	holds = append(holds, hold{"delete", "renameat2"}) // delete's move, after it took the pipe
	for name, make := range intruders {
		for _, h := range holds {
			t.Run(name+"/"+h.cmd+"/"+h.call, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				p, intruder, log := dir+"/pipe", dir+"/intruder", dir+"/strace.log"
				must(t, syscall.Mkfifo(p, 0o600))
				make(t, intruder)
				filter := []string{"-P", p} // delete's renameat2 names the pipe relative to its directory
				if h.call == "renameat2" {
					filter = nil
				}
				argv := append(append([]string{"strace", "-f", "-qq", "-o", log}, filter...), "-e", "inject="+h.call+":delay_enter=2000000:when=1",
					"-e", "trace=%file,%desc", bin, h.cmd, "-p", p)
				c := newChild([]string{"LOCKPIPE_TIMEOUT=5s"}, argv...).start(t)
				waitFor(t, "lockpipe held in "+h.call, func() bool {
					b, _ := os.ReadFile(log)
					return strings.Contains(string(b), " "+h.call+"(")
				})
				must(t, os.Rename(p, p+".away"))
				must(t, os.Rename(intruder, p))
				if b, _ := os.ReadFile(log); strings.Contains(string(b), h.call+" resumed>") || regexp.MustCompile(h.call+`\(.*\) = `).Match(b) {
					t.Fatalf("the swap came after the held %s returned:\n%s", h.call, b)
				}
				// delete's guard may move the intruder away and back: its ctime may change, nothing else.
				unchanged := func() string { return regexp.MustCompile(` ctime=\d+`).ReplaceAllString(snapshot(t, p), "") }
				before := unchanged()
				if st := c.status(t); st != 17 {
					t.Errorf("status %d, stderr %q", st, c.stderr.String())
				}
				if after := unchanged(); after != before {
					t.Errorf("the intruder changed:\n%s\nbecame:\n%s", before, after)
				}
				b, _ := os.ReadFile(log)
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, `"`+p+`"`) && (strings.Contains(l, "openat(") && !strings.Contains(l, "O_PATH") ||
						strings.Contains(l, "unlink") && !strings.Contains(l, "= -1")) {
						t.Errorf("touched the path: %s", l)
					}
				}
			})
		}
	}
}

// TestNotProcfs runs read and write in a root whose /proc is not procfs, with a
// regular file where /proc/self/fd/3 would be: lockpipe must not open it as
// the pipe it holds, and waits on the pipe itself, found by name and checked.
func TestNotProcfs(t *testing.T) {
	t.Parallel()
	root := bareRoot(t)
	must(t, os.MkdirAll(filepath.Join(root, "proc", "self", "fd"), 0o755))
	for fd := 3; fd < 10; fd++ {
		must(t, os.WriteFile(filepath.Join(root, "proc", "self", "fd", strconv.Itoa(fd)), []byte("not a pipe\n"), 0o666))
	}
	decoy := filepath.Join(root, "proc", "self", "fd", "3")
	before := snapshot(t, decoy)
	for _, cmd := range []string{"read", "write"} {
		c := newChild(nil, "chroot", root, "/lockpipe", cmd, "-t", "200ms", "-p", "/run/pipe").start(t)
		if st := c.status(t); st != 110 {
			t.Errorf("%s with nobody on the pipe: status %d, stderr %q", cmd, st, c.stderr.String())
		}
	}
	r := newChild(nil, "chroot", root, "/lockpipe", "read", "-p", "/run/pipe").start(t)
	release(t, r.pid(), "write", filepath.Join(root, "run", "pipe"))
	if st := r.status(t); st != 0 {
		t.Errorf("read released from outside: %d %q", st, r.stderr.String())
	}
	if after := snapshot(t, decoy); after != before {
		t.Errorf("the decoy changed:\n%s\nbecame:\n%s", before, after)
	}
}

// TestUsersNamesLeftAlone puts a user's files, a directory and a named pipe
// with a reader at the names lockpipe gives its own files (those of this
// version and of earlier ones), and runs every command beside them: nothing
// of the user's is moved, removed, changed or released.
func TestUsersNamesLeftAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, q := filepath.Join(dir, "p"), filepath.Join(dir, "q")
	lockpipe(t, nil, "create", "-p", p)
	var st syscall.Stat_t
	must(t, syscall.Stat(p, &st))
	files := []string{".lockpipe-deleting-p", ".lockpipe-deleting-p." + strconv.FormatUint(st.Ino, 10), ".lockpipe-deleting-p.1", ".lockpipe-record-p"}
	for _, f := range files {
		must(t, os.WriteFile(filepath.Join(dir, f), []byte("the user's "+f+"\n"), 0o644))
	}
	must(t, os.Mkdir(filepath.Join(dir, ".lockpipe-deleting-q"), 0o755))
	users := filepath.Join(dir, ".lockpipe-deleting-q.1")
	must(t, syscall.Mkfifo(users, 0o600))
	r := spawn(t, nil, "read", "-p", users)
	blocked(t, r.pid())
	entries := append(files, ".lockpipe-deleting-q", ".lockpipe-deleting-q.1")
	before := map[string]string{}
	for _, e := range entries {
		before[e] = snapshot(t, filepath.Join(dir, e))
	}
	for _, args := range [][]string{{"exists", "-p", p}, {"create", "-p", p}, {"read", "--if-exists", "-p", q},
		{"hold", "-p", p, "--", "true"}, {"create", "-p", q}, {"delete", "-p", q}, {"create", "-p", q},
		{"delete", "-p", q}, {"delete", "-p", p}} {
		if st, _, stderr := lockpipe(t, nil, args...); st != 0 {
			t.Errorf("%v: status %d, stderr %q", args, st, stderr)
		}
	}
	for _, e := range entries {
		if after := snapshot(t, filepath.Join(dir, e)); after != before[e] {
			t.Errorf("%s changed:\n%s\nbecame:\n%s", e, before[e], after)
		}
	}
	if !stillWaits(r.pid()) {
		t.Errorf("the reader of the user's pipe was released: %q", r.stderr.String())
	}
	if there(p) || there(q) {
		t.Error("a pipe of lockpipe's was not deleted")
	}
}
