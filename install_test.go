package main

// Shipping it: one static binary that runs alone in an empty root, and
// install, which copies it into a shared volume and loses nothing when raced
// or interrupted.

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInstallCommand checks install from a bare root with no /proc, and what it refuses.
func TestInstallCommand(t *testing.T) {
	t.Parallel()
	root := bareRoot(t)
	data, err := os.ReadFile(bin)
	must(t, err)
	must(t, os.Mkdir(filepath.Join(root, "shared"), 0o777))
	c := newChild(nil, "/bin/sh", "-c", `umask 077 && exec chroot "$0" /lockpipe install /shared`, root).start(t)
	if st := c.status(t); st != 0 || c.stderr.String() != "[INFO  lockpipes] installed lockpipe at \"/shared/lockpipe\"\n" {
		t.Fatalf("status %d, stderr %q", st, c.stderr.String())
	}
	got, _ := os.ReadFile(filepath.Join(root, "shared", "lockpipe"))
	fi, _ := os.Stat(filepath.Join(root, "shared", "lockpipe"))
	if !bytes.Equal(got, data) || fi.Mode().Perm() != 0o755 {
		t.Errorf("copy differs (%d bytes) or mode %v", len(got), fi.Mode())
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "shared")); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	for _, r := range []struct {
		name   string
		make   func(p string)
		status int
	}{
		{"directory", func(p string) { must(t, os.Mkdir(p, 0o755)) }, 17},
		{"named pipe", func(p string) { must(t, syscall.Mkfifo(p, 0o600)) }, 17},
		{"symbolic link", func(p string) { must(t, os.Symlink("/etc/passwd", p)) }, 17},
	} {
		dir := t.TempDir()
		r.make(filepath.Join(dir, "lockpipe"))
		checkBad(t, nil, filepath.Join(dir, "lockpipe"), r.status, "at %q, not a regular file; leaving it untouched", bin, "install", dir)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if st, _, _ := lockpipe(t, nil, "install", missing); st != 2 {
		t.Errorf("missing dir: %d", st)
	}
}

// TestRunsAloneInChroot copies the static binary alone into an empty root and uses every command there.
func TestRunsAloneInChroot(t *testing.T) {
	t.Parallel()
	root := bareRoot(t)
	in := func(args ...string) *child {
		return newChild(nil, append([]string{"chroot", root, "/lockpipe"}, args...)...).start(t)
	}
	expect := func(c *child, status int, stdout string) {
		t.Helper()
		if st := c.status(t); st != status || (stdout != "" && c.stdout.String() != stdout) {
			t.Errorf("%v: status %d, stdout %q, stderr %q", c.cmd.Args, st, c.stdout.String(), c.stderr.String())
		}
	}
	expect(in("create"), 0, "")
	expect(in("exists"), 0, "")
	if !isPipe(filepath.Join(root, "run", "forever")) {
		t.Fatal("no pipe at /run/forever inside the root")
	}
	r := in("read")
	blocked(t, r.pid())
	expect(in("write"), 0, "")
	expect(r, 0, "")
	expect(in("delete"), 0, "")
	expect(in("exists"), 1, "")
	v := in("--version")
	expect(v, 0, "")
	if !strings.HasPrefix(v.stdout.String(), "lockpipe ") {
		t.Errorf("--version printed %q", v.stdout.String())
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 2 {
		t.Errorf("the root holds %d entries, want lockpipe and run", len(entries))
	}
}

// TestStaticBinary checks the release build has no program interpreter, so it needs no libc.
func TestStaticBinary(t *testing.T) {
	t.Parallel()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has a PT_INTERP header: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) != 0 {
		t.Errorf("imports %v", libs)
	}
}

// TestInstallWithoutTmpfile installs into a FUSE file system without
// O_TMPFILE (bindfs, as NFS, 9p and most FUSE file systems): the copy has a
// name of its own until it is whole, and install ends, twice, leaving nothing.
func TestInstallWithoutTmpfile(t *testing.T) {
	t.Parallel()
	needRoot(t, "bindfs", "umount")
	src, mnt := t.TempDir(), t.TempDir()
	if out, err := exec.Command("bindfs", src, mnt).CombinedOutput(); err != nil {
		skip(t, "cannot mount with bindfs: "+err.Error()+" "+string(out))
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	if fd, err := syscall.Open(mnt, oTmpfile|syscall.O_WRONLY, 0o600); err == nil {
		syscall.Close(fd)
		t.Skip("this bindfs supports O_TMPFILE: the test proves nothing here")
	}
	data, err := os.ReadFile(bin)
	must(t, err)
	for i := 0; i < 2; i++ { // into nothing, then over the copy
		if st, _, stderr := lockpipe(t, nil, "install", mnt); st != 0 {
			t.Fatalf("install %d: status %d, stderr %q", i+1, st, stderr)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(src, "lockpipe")); !bytes.Equal(got, data) {
		t.Errorf("copy differs (%d bytes)", len(got))
	}
	if entries, _ := os.ReadDir(src); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestInstallIntoFullFilesystem installs into a file system too small for
// the binary: 28 (ENOSPC) with the cause in its line, and nothing left.
func TestInstallIntoFullFilesystem(t *testing.T) {
	t.Parallel()
	needRoot(t, "unshare", "mount")
	d := t.TempDir()
	script := `mount -t tmpfs -o size=256k lockpipe-test "$0" && "$1" install "$0"; st=$?; ls -A "$0"; exit $st`
	c := newChild(nil, "unshare", "--mount", "/bin/sh", "-c", script, d, bin).start(t)
	if st := c.status(t); st != 28 || !strings.Contains(c.stderr.String(), "no space left on device") || c.stdout.String() != "" {
		t.Errorf("status %d, stderr %q, left %q", st, c.stderr.String(), c.stdout.String())
	}
}
