package main

// In-process tests of the pipe's primitives on real files: holding by
// handle, creating, removing, looking up CMD and installing.

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

// TestHandle checks what a handle reports for each kind of thing at a path.
func TestHandle(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pipe")
	must(t, syscall.Mkfifo(p, 0o600))
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, []byte("data"), 0o644))
	must(t, os.Symlink(p, filepath.Join(dir, "link")))
	must(t, os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling")))
	r, w, err := os.Pipe()
	must(t, err)
	defer r.Close()
	defer w.Close()
	rows := []struct {
		name, path string
		follow     bool
		present    bool
		fifo       bool
		what       string
	}{
		{"missing", filepath.Join(dir, "missing"), true, false, false, ""},
		{"missing parent", filepath.Join(dir, "no", "pipe"), true, false, false, ""},
		{"named pipe", p, true, true, true, ""},
		{"link to a pipe", filepath.Join(dir, "link"), true, true, true, ""},
		{"link itself", filepath.Join(dir, "link"), false, true, false, "a symbolic link"},
		{"dangling link is nothing", filepath.Join(dir, "dangling"), true, false, false, ""},
		{"regular file", file, true, true, false, "a regular file"},
		{"directory", dir, true, true, false, "a directory"},
		{"anonymous pipe", "/proc/self/fd/" + strconv.Itoa(int(r.Fd())), true, true, false, "a symbolic link to an anonymous pipe"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			h, err := takeHandle(row.path, row.follow)
			if err != nil {
				t.Fatal(err)
			}
			defer h.close()
			if h.present() != row.present || h.fifo != row.fifo || h.what != row.what {
				t.Errorf("takeHandle(%q) present=%v fifo=%v what=%q; want %v %v %q", row.path, h.present(), h.fifo, h.what, row.present, row.fifo, row.what)
			}
		})
	}
}

// TestReopenSameInode checks that reopen opens the inode held even after the path names something else.
func TestReopenSameInode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pipe")
	must(t, syscall.Mkfifo(p, 0o600))
	h, err := takeHandle(p, true)
	must(t, err)
	defer h.close()
	must(t, os.Rename(p, filepath.Join(dir, "moved")))
	must(t, os.WriteFile(p, []byte("intruder"), 0o644))
	if h.leads() {
		t.Error("leads() missed the swap")
	}
	fd, err := h.reopen(syscall.O_RDWR | syscall.O_NONBLOCK)
	must(t, err)
	defer syscall.Close(fd)
	var st syscall.Stat_t
	must(t, syscall.Fstat(fd, &st))
	if st.Ino != h.st.Ino || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		t.Errorf("reopened inode %d mode %o, want the pipe %d", st.Ino, st.Mode, h.st.Ino)
	}
}

// TestCreateAndRemove checks create, exists and remove on a real path.
func TestCreateAndRemove(t *testing.T) {
	defer func(min level) { logger.min = min }(logger.min)
	logger.min = levelOff // what create and remove log is the end-to-end tests' to check
	dir := t.TempDir()
	p := filepath.Join(dir, "pipe")
	if found, err := exists(p); found || err != nil {
		t.Fatalf("exists(missing) = %v, %v", found, err)
	}
	for _, mode := range []uint32{0o640, 0o600} { // then already there: success
		h, _, err := create(p, mode)
		must(t, err)
		h.close()
	}
	if found, err := exists(p); !found || err != nil {
		t.Fatalf("exists(pipe) = %v, %v", found, err)
	}
	link := filepath.Join(dir, "link")
	must(t, os.Symlink(p, link))
	if _, err := remove(link); exitStatus(err) != statusNotPipe || !isPipe(p) {
		t.Errorf("remove(link to pipe) = %v; the pipe and the link must stay", err)
	}
	if removed, err := remove(p); !removed || err != nil {
		t.Errorf("remove = %v, %v", removed, err)
	}
	if removed, err := remove(p); removed || err != nil {
		t.Errorf("remove(missing) = %v, %v", removed, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestLookPath checks how CMD is found: as execvp does, skipping what cannot be executed.
func TestLookPath(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "tool"), nil, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "private"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(other, "private"), nil, 0o755))
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	rows := []struct {
		name, cmd, path string
		want            []string // any of these
		status          int
	}{
		{"slash as it is", "./x/y", "", []string{"./x/y"}, 0},
		{"found in PATH", "tool", "/nonexistent:" + dir, []string{dir + "/tool"}, 0},
		{"directory skipped", "sub", dir, []string{""}, 127},
		{"not found", "nope", dir, []string{""}, 127},
		{"not executable skipped", "private", dir + ":" + other, []string{other + "/private"}, 0},
		{"only not executable", "private", dir, []string{""}, 126},
		{"empty entry is the working directory", "here", ":/nonexistent", []string{"./here"}, 0},
		{"only elsewhere", "here", "/nonexistent", []string{""}, 127},
		{"default PATH", "sh", "", []string{"/usr/local/sbin/sh", "/usr/local/bin/sh", "/usr/sbin/sh", "/usr/bin/sh", "/sbin/sh", "/bin/sh"}, 0},
	}
	// Run from a directory that holds an executable "here" (no test runs in parallel with this one).
	wd, err := os.Getwd()
	must(t, err)
	here := t.TempDir()
	must(t, os.WriteFile(filepath.Join(here, "here"), nil, 0o755))
	must(t, os.Chdir(here))
	defer os.Chdir(wd)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := lookPath(r.cmd, r.path)
			if !slices.Contains(r.want, got) || exitStatus(err) != r.status {
				t.Errorf("lookPath(%q, %q) = %q, %v; want one of %q, status %d", r.cmd, r.path, got, err, r.want, r.status)
			}
		})
	}
}

// TestInstall checks the copy, its mode under any umask, and what it refuses.
func TestInstall(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	dst, err := install(dir)
	syscall.Umask(old)
	must(t, err)
	self, err := os.ReadFile("/proc/self/exe")
	must(t, err)
	got, err := os.ReadFile(dst)
	must(t, err)
	fi, err := os.Stat(dst)
	must(t, err)
	if !bytes.Equal(got, self) || fi.Mode().Perm() != 0o755 {
		t.Errorf("copy differs or mode %v", fi.Mode())
	}
	if _, err := install(dir); err != nil {
		t.Errorf("replacing a regular file: %v", err)
	}
	if _, err := install(filepath.Join(dir, "missing")); exitStatus(err) != 2 {
		t.Errorf("missing dir: %v", err)
	}
	taken := t.TempDir()
	must(t, os.Mkdir(filepath.Join(taken, "lockpipe"), 0o755))
	if _, err := install(taken); exitStatus(err) != statusNotPipe {
		t.Errorf("directory in the way: %v", err)
	}
	entries, err := os.ReadDir(dir)
	must(t, err)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
