package main

// The marked examples of the README and of docs/, run as a user would copy them.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// example is one shell example of the README marked to be run, and what it must print.
type example struct {
	line         int
	script, want string
	hasWant      bool
}

// examplesIn extracts the examples of a Markdown file marked "<!-- test: run -->",
// each with the output block marked "<!-- test: output -->" after it, if any.
func examplesIn(t *testing.T, file string) []example {
	b, err := os.ReadFile(file)
	must(t, err)
	lines := strings.Split(string(b), "\n")
	// block returns the fenced block that starts after line i, and the line after it.
	block := func(i int) (string, int) {
		for i < len(lines) && !strings.HasPrefix(lines[i], "```") {
			i++
		}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		return strings.Join(body, "\n") + "\n", i + 1
	}
	var out []example
	for i := 0; i < len(lines); i++ {
		switch strings.TrimSpace(lines[i]) {
		case "<!-- test: run -->":
			script, next := block(i + 1)
			out = append(out, example{line: i + 1, script: script})
			i = next - 1
		case "<!-- test: output -->":
			want, next := block(i + 1)
			out[len(out)-1].want, out[len(out)-1].hasWant = want, true
			i = next - 1
		}
	}
	return out
}

// TestREADMEExamples runs the marked examples of the README and of docs/ as
// a user would copy them, under sh and busybox sh, each in a fresh directory
// holding the sources, with lockpipe on PATH; a "go test" line is left out.
func TestREADMEExamples(t *testing.T) {
	files, _ := filepath.Glob("docs/*.md")
	for _, file := range append([]string{"README.md"}, files...) {
		examples := examplesIn(t, file)
		if file == "README.md" && len(examples) < 5 {
			t.Fatalf("only %d marked examples in README.md", len(examples))
		}
		runExamples(t, file, examples)
	}
}

// runExamples runs the marked examples of one file.
func runExamples(t *testing.T, file string, examples []example) {
	shells := [][]string{{"/bin/sh", "-c"}}
	if busybox, err := exec.LookPath("busybox"); err == nil {
		shells = append(shells, []string{busybox, "sh", "-c"})
	}
	sources, _ := filepath.Glob("*.go")
	for _, ex := range examples {
		for _, sh := range shells {
			t.Run(fmt.Sprintf("%s line %d/%s", file, ex.line, filepath.Base(sh[0])), func(t *testing.T) {
				dir := t.TempDir()
				for _, f := range append(sources, "go.mod") {
					if !strings.HasSuffix(f, "_test.go") {
						data, err := os.ReadFile(f)
						must(t, err)
						must(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
					}
				}
				var script []string
				for _, l := range strings.Split(ex.script, "\n") {
					if !strings.HasPrefix(strings.TrimSpace(l), "go test") {
						script = append(script, l)
					}
				}
				c := newChild([]string{"PATH=" + filepath.Dir(bin) + ":" + os.Getenv("PATH")}, append(sh, strings.Join(script, "\n"))...)
				c.cmd.Dir = dir
				var out bytes.Buffer
				c.cmd.Stdout, c.cmd.Stderr = &out, &out
				if st := c.start(t).status(t); st != 0 {
					t.Errorf("%s line %d: status %d, output:\n%s", file, ex.line, st, out.String())
				}
				if ex.hasWant && out.String() != ex.want {
					t.Errorf("%s line %d printed:\n%s\nit says:\n%s", file, ex.line, out.String(), ex.want)
				}
			})
		}
	}
}
