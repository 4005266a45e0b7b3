//go:build linux

package main

// Help, generated from the tables of commands and options, and the
// suggestion a misspelt name gets.

import (
	"strconv"
	"strings"
)

// statusHelp describes the exit statuses, for the help.
const statusHelp = `Exit status: 0 done; 1 exists or status found nothing; 6 write --nowait
found nobody waiting; 17 something that is not a named pipe is at the path
(left untouched); 22 usage error; 24 too many open files; 110 timed out;
112 --status: the hold ended without a verdict; 126 CMD cannot run; 127 CMD
not found; 128+N ended by signal N (143 SIGTERM, 131 SIGQUIT); hold and run:
CMD's status; otherwise the errno of the failed call.
`

// usageLine returns a command's synopsis.
func usageLine(c *command) string {
	s := "lockpipe " + c.name
	for i := range options {
		if o := &options[i]; c.opts&o.bit != 0 {
			flag := "-" + o.short
			if o.short == "" {
				flag = "--" + o.long
			}
			s += " [" + trimSpace(flag+" "+o.meta) + "]"
		}
	}
	return trimSpace(s + " " + c.args)
}

// pad returns s followed by spaces up to width.
func pad(s string, width int) string {
	for s += " "; len(s) < width; s += " " {
	}
	return s
}

// optionsHelp describes the options in set, with their variables and defaults.
func optionsHelp(set optSet) string {
	s := ""
	for i := range options {
		o := &options[i]
		if set&o.bit == 0 {
			continue
		}
		flags := "    --" + o.long
		if o.short != "" {
			flags = "-" + o.short + ", --" + o.long
		}
		if o.meta != "" {
			flags += " " + o.meta
		}
		s += strings.TrimRight("  "+pad(flags, 24)+pad(o.env, 18)+o.def, " ") + "\n      " + o.help + "\n"
	}
	return s
}

// helpText returns the overview, or the help for the command named topic.
func helpText(topic string) (string, error) {
	if topic != "" {
		c := lookup(topic)
		if c == nil {
			return "", usageError("unknown help topic " + strconv.Quote(topic) + suggest(topic, commandNames(), ""))
		}
		s := "usage: " + usageLine(c) + "\n\n" + c.long + "\n"
		if c.opts != 0 {
			s += "\nOptions (flag, environment variable, default):\n" + optionsHelp(c.opts)
		}
		return s, nil
	}
	s := "lockpipe waits on a named pipe: a commitment-free alternative to sleep.\n\n" +
		"usage: lockpipe [OPTIONS] COMMAND [OPTIONS] [-- CMD [ARG...]]\n\nCommands:\n"
	var all optSet
	for i := range commands {
		c := &commands[i]
		name := c.name
		if c.alias != "" {
			name += ", " + c.alias
		}
		s += "  " + pad(name, 12) + c.short + "\n"
		all |= c.opts
	}
	return s + `
Options (flag, environment variable, default):
` + optionsHelp(all) + `  -h, --help              show help
  -V, --version           print the version

` + loggingHelp + "\n" + statusHelp + "\nRun 'lockpipe help COMMAND' for more about a command.\n", nil
}

// suggest returns "; did you mean PREFIX+NAME?" for the one name typed
// begins, or else the one name a slip of a key or two away from it (but
// never one that only adds or drops a "no", which means the opposite), and
// otherwise a pointer to the help.
func suggest(typed string, names []string, prefix string) string {
	var begun, near []string
	for _, n := range names {
		switch {
		case typed == "" || n == "":
		case strings.HasPrefix(n, typed):
			begun = append(begun, n)
		case n == "no"+typed || typed == "no"+n:
		case distance(typed, n) <= min(2, len(n)/3):
			near = append(near, n)
		}
	}
	switch {
	case len(begun) == 1:
		return "; did you mean " + prefix + begun[0] + "?"
	case len(begun) == 0 && len(near) == 1:
		return "; did you mean " + prefix + near[0] + "?"
	}
	return "; run 'lockpipe help'"
}

// distance counts the edits that turn a into b: insertions, deletions,
// substitutions and swaps of neighbours (optimal string alignment).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
