package main

// The rivals the benchmarks measure lockpipe against (the Go floor, the
// shell idiom, another build of lockpipe) and the files they run from.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// floorOnce builds testdata/floor.go.txt, the Go floor, once per run.
var floorOnce struct {
	sync.Once
	path string
	err  error
}

// floorBinary returns the built Go floor program.
func floorBinary(b *testing.B) string {
	floorOnce.Do(func() {
		dir := filepath.Join(workDir, "floor") // removed with the binaries when the tests end
		err := os.Mkdir(dir, 0o755)
		src, err2 := os.ReadFile("testdata/floor.go.txt")
		err = errors.Join(err, err2)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n\ngo 1.22\n"), 0o644)
		}
		if err != nil {
			floorOnce.err = err
			return
		}
		floorOnce.path = filepath.Join(dir, "floor")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", floorOnce.path, ".")
		build.Dir = dir
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := build.CombinedOutput(); err != nil {
			floorOnce.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if floorOnce.err != nil {
		b.Fatal(floorOnce.err)
	}
	return floorOnce.path
}

// installed makes the rivals run from copies written with write(2).
var installed = flag.Bool("installed", false, "run each rival from copies of its binary written with write(2), as installs write them")

// copies is how many files of each binary the rounds rotate through.
var copies = flag.Int("copies", 3, "run each rival from this many copies of its binary, in turn")

// placedCopies maps each binary a benchmark runs to its copies.
var placedCopies = map[string][]string{}

// placed returns -copies files of the binary at path, for the rounds to
// take in turn: where a file's pages lie in memory moves a start by a few
// percent, so one file per rival would make a few percent of its ratio by
// chance (docs/figures.md). Each copy is written as the Go linker writes,
// through a memory mapping, which the page cache holds in 4 kB pages; with
// -installed, with write(2), as an install or an image's COPY writes it,
// which it holds in large folios that a fault maps whole.
func placed(b *testing.B, path string) []string {
	if cs, ok := placedCopies[path]; ok {
		return cs
	}
	dir := filepath.Join(workDir, "placed") // removed with the binaries when the tests end
	os.Mkdir(dir, 0o755)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var cs []string
	for i := 0; i < max(*copies, 1); i++ {
		c := filepath.Join(dir, fmt.Sprintf("%d-%d-%s", len(placedCopies), i, filepath.Base(path)))
		if err := writeCopy(c, data, *installed); err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
	}
	placedCopies[path] = cs
	return cs
}

// writeCopy writes data to a new executable file at path, with write(2)
// or through a shared memory mapping, and to disk: a file's pages still
// to be written back are mapped otherwise.
func writeCopy(path string, data []byte, withWrite bool) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	defer f.Close()
	if withWrite {
		_, err = f.Write(data)
	} else {
		err = mapCopy(f, data)
	}
	if err != nil {
		return err
	}
	return f.Sync()
}

// mapCopy writes data into f through a shared memory mapping, as the Go linker writes a binary.
func mapCopy(f *os.File, data []byte) error {
	if err := f.Truncate(int64(len(data))); err != nil {
		return err
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, len(data), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	copy(m, data)
	return syscall.Munmap(m)
}

// rival is one way to wait on a named pipe: the argv for each role, run by
// exe, one of its binary's copies (none for the shell).
type rival struct {
	name                           string
	exes                           []string
	exe                            string
	readArgv, writeArgv, checkArgv func(exe, p string) []string
}

// reader returns the argv of a reader on p.
func (r rival) reader(p string) []string { return r.readArgv(r.exe, p) }

// writer returns the argv of a writer on p.
func (r rival) writer(p string) []string { return r.writeArgv(r.exe, p) }

// check returns the argv of an existence check of p.
func (r rival) check(p string) []string { return r.checkArgv(r.exe, p) }

// rivals returns lockpipe, the shell idiom and the Go floor, and with
// LOCKPIPE_BENCH_BEFORE=PATH another build of lockpipe ("before"),
// interleaved with them, so that two builds compare in one run; each
// binary as placed returns it, the first copy chosen.
func rivals(b *testing.B) []rival {
	lp := func(name, exe string) rival {
		return rival{name: name, exes: placed(b, exe),
			readArgv:  func(exe, p string) []string { return []string{exe, "read", "-p", p} },
			writeArgv: func(exe, p string) []string { return []string{exe, "write", "-p", p} },
			checkArgv: func(exe, p string) []string { return []string{exe, "exists", "-p", p} }}
	}
	rs := []rival{lp("lockpipe", bin),
		{name: "shell", exes: []string{""},
			readArgv:  func(_, p string) []string { return []string{"cat", p} }, // standard output is /dev/null
			writeArgv: func(_, p string) []string { return []string{"/bin/sh", "-c", `: > "$0"`, p} },
			checkArgv: func(_, p string) []string { return []string{"/usr/bin/test", "-p", p} }},
		{name: "floor", exes: placed(b, floorBinary(b)),
			readArgv:  func(exe, p string) []string { return []string{exe, "read", p} },
			writeArgv: func(exe, p string) []string { return []string{exe, "write", p} },
			checkArgv: func(exe, p string) []string { return []string{exe, "exists", p} }},
	}
	if before := os.Getenv("LOCKPIPE_BENCH_BEFORE"); before != "" {
		rs = append(rs, lp("before", before))
	}
	for i := range rs {
		rs[i].exe = rs[i].exes[0]
	}
	return rs
}
