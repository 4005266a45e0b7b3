// Command lockpipe uses a named pipe as a synchronisation point: a
// commitment-free alternative to sleep. See README.md.
//
// main.go is the command line: the tables of options and commands, parsing,
// help, and the commands themselves, which put the two layers below
// together. pipe.go is the pipe and the wait on it; process.go what the
// process does around it (signals, children, becoming CMD, installing);
// exitcode.go turns how it ended into a log line and an exit status.
package main

import (
	"cmp"
	"errors"
	"io"
	"math"
	"os"
	runtimedebug "runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// version is the version to report; set it with -ldflags '-X main.version=v1.2.3'.
var version string

// defaultPath is where the pipe lives when neither --path nor LOCKPIPE_PATH says.
const defaultPath = "/run/forever"

// optSet is a set of options, one bit each.
type optSet uint16

const (
	optPath optSet = 1 << iota
	optMode
	optTimeout
	optNowait
	optIfExists
	optGrace
	optSignal
	optStdin
	optStdout
	optStderr
	optRedirect = optStdin | optStdout | optStderr
)

// option is one option: its flags, its environment variable and its parser.
type option struct {
	bit         optSet
	short, long string // short is "" for none
	env         string // "" for none
	meta        string // the value's name in help; "" for a switch, which takes none
	def, help   string
	set         func(inv *invocation, s string) error
}

var options = [...]option{
	{bit: optPath, short: "p", long: "path", env: "LOCKPIPE_PATH", meta: "PATH", def: defaultPath,
		help: "the named pipe", set: setPath},
	{bit: optMode, short: "m", long: "mode", env: "LOCKPIPE_MODE", meta: "OCTAL", def: "0600",
		help: "permissions of a pipe this call creates, whatever the umask", set: setMode},
	{bit: optTimeout, short: "t", long: "timeout", env: "LOCKPIPE_TIMEOUT", meta: "DURATION", def: "none",
		help: "give up waiting after this long, exit 110: 500ms, 90s, 1h30m, 2d, 30, 0.5; 0, inf or infinity: never",
		set:  func(inv *invocation, s string) (err error) { inv.req.timeout, err = parseDuration(s, 0); return }},
	{bit: optNowait, short: "n", long: "nowait",
		help: "release the readers waiting now and never wait; exit 6 if there are none",
		set:  func(inv *invocation, _ string) error { inv.req.nowait = true; return nil }},
	{bit: optIfExists, long: "if-exists",
		help: "when nothing is at the path, exit 0 at once and create nothing",
		set:  func(inv *invocation, _ string) error { inv.req.ifExists = true; return nil }},
	{bit: optGrace, long: "grace", meta: "DURATION", def: "10s",
		help: "run: how long CMD's process group has after the signal before SIGKILL; 0: at once, inf: never",
		set:  func(inv *invocation, s string) (err error) { inv.grace, err = parseDuration(s, math.MaxInt64); return }},
	{bit: optSignal, long: "signal", meta: "NAME", def: "TERM",
		help: "run: what stops CMD's process group once released: TERM, INT, HUP, QUIT, USR1, USR2 or KILL", set: setSignal},
	{bit: optStdin, long: "stdin", help: "read: CMD reads its standard input from the pipe",
		set: func(inv *invocation, _ string) error { inv.stdio[0] = true; return nil }},
	{bit: optStdout, long: "stdout", help: "write: CMD writes its standard output into the pipe",
		set: func(inv *invocation, _ string) error { inv.stdio[1] = true; return nil }},
	{bit: optStderr, long: "stderr", help: "write: CMD writes its standard error into the pipe",
		set: func(inv *invocation, _ string) error { inv.stdio[2] = true; return nil }},
}

// command is one subcommand, as in cmd/go's base.Command.
type command struct {
	name, alias string
	opts        optSet
	args        string // what follows the options in the synopsis
	short, long string
	run         func(inv *invocation, stdout io.Writer) error // nil for help, which reads this table
}

var commands = [...]command{
	{name: "create", alias: "c", opts: optPath | optMode,
		short: "create the named pipe",
		long: `Create makes a named pipe at the path, with the mode exactly, whatever the
umask. A named pipe already there is success, with a warning. A missing
parent directory is not created.`,
		run: func(inv *invocation, _ io.Writer) error {
			recoverDelete(inv.req.path)
			return create(inv.req.path, inv.req.mode)
		}},
	{name: "delete", alias: "d", opts: optPath,
		short: "release everyone waiting on the pipe, then remove it",
		long: `Delete releases every reader and writer waiting on the named pipe (they
exit 0), then removes it. Nothing there is success, with a warning. A
symbolic link is never removed, even one that leads to a named pipe. When
the pipe cannot be removed, nobody is released.`,
		run: runDelete},
	{name: "exists", alias: "e", opts: optPath,
		short: "exit 0 if the named pipe exists, 1 if nothing is there",
		long: `Exists exits 0 when a named pipe is at the path (following symbolic
links), 1 when nothing is there (a missing parent directory or a dangling
symbolic link included), 17 when something else is there, and the errno
when the check itself fails.`,
		run: runExists},
	{name: "read", alias: "r", opts: optPath | optMode | optTimeout | optIfExists | optStdin, args: "[-- CMD [ARG...]]",
		short: "wait until something writes to the pipe",
		long: `Read creates the named pipe if nothing is there, then waits until a writer
opens it, discards whatever it sends until end-of-file, and exits 0. One
write releases every reader waiting at that moment; readers that come later
wait for the next one. A pipe that lockpipe hold holds is read until the
hold ends; once it has ended, read passes at once. A reader whose pipe is
removed from its path is released within 2 s. The pipe is never deleted.

With -- CMD, lockpipe becomes CMD once released (same PID, environment and
standard streams); after a timeout, a signal or a failure CMD never runs.
With --stdin, CMD reads its standard input from the pipe instead: lockpipe
becomes CMD as soon as a writer has opened it, and reads nothing itself.`,
		run: func(inv *invocation, _ io.Writer) error { return runWait(inv, true) }},
	{name: "write", alias: "w", opts: optPath | optMode | optTimeout | optNowait | optIfExists | optStdout | optStderr, args: "[-- CMD [ARG...]]",
		short: "wait until something reads from the pipe",
		long: `Write creates the named pipe if nothing is there, then waits until a reader
opens it, closes it without writing, and exits 0. One read releases every
writer waiting at that moment. The pipe is never deleted. With --nowait it
never waits: it releases the readers waiting now, or exits 6 if there are
none. A held pipe counts as read at once, and releases none of its readers.

With -- CMD, lockpipe becomes CMD once released, as for read. With --stdout
or --stderr (or both), CMD writes that stream into the pipe.`,
		run: func(inv *invocation, _ io.Writer) error { return runWait(inv, false) }},
	{name: "hold", opts: optPath | optMode, args: "[-- CMD [ARG...]]",
		short: "hold the pipe while CMD runs: its readers wait until CMD ends",
		long: `Hold makes sure a named pipe is at the path, holds it open for writing and
runs CMD as its child: every reader of the pipe waits until CMD ends, however
it ends (SIGKILL and lockpipe's own death included), and passes at once after
that, until the pipe is held again. Signals are forwarded to CMD, orphans
reaped as PID 1, and lockpipe exits with CMD's status. Without CMD it holds
until a signal ends it. It marks the pipe with the sticky bit (ls shows t).`,
		run: runHold},
	{name: "run", opts: optPath | optMode | optTimeout | optGrace | optSignal, args: "-- CMD [ARG...]",
		short: "run CMD until the pipe releases it, then stop it: a sidecar's end",
		long: `Run makes sure a named pipe is at the path, starts CMD as its child in a
process group of its own, and waits on the pipe as read does. Once released
(a write, a delete, the end of a hold) it sends --signal to CMD's group, then
SIGKILL after --grace to what is left of it, and exits 0. If CMD ends first,
run exits with its status; after --timeout it stops CMD and exits 110.`,
		run: runRun},
	{name: "install", args: "DIR",
		short: "copy this binary to DIR/lockpipe, for a shared volume",
		long: `Install copies the running binary to DIR/lockpipe with mode 0755, replacing
a regular file there atomically: a reader never sees a part of it. Anything
else at DIR/lockpipe is left untouched (17); a missing DIR is 2.`,
		run: runInstall},
	{name: "help", args: "[COMMAND]",
		short: "show this help, or a command's",
		long:  `Help shows the overview, or with a command's name, that command's usage.`},
	{name: "version",
		short: "print the version",
		long:  `Version prints "lockpipe VERSION" on standard output.`,
		run:   func(_ *invocation, stdout io.Writer) error { return printOut(stdout, "lockpipe "+versionString()+"\n") }},
}

// lookup finds a command by name or alias.
func lookup(name string) *command {
	for i := range commands {
		if c := &commands[i]; name == c.name || name != "" && name == c.alias {
			return c
		}
	}
	return nil
}

// invocation is a parsed command line.
type invocation struct {
	cmd           *command
	req           request
	given         optSet         // options set on the command line
	topic         string         // help: the command to show
	dir           string         // install: the destination directory
	exec          []string       // CMD and its arguments, after --
	grace         time.Duration  // run: before SIGKILL
	stop          syscall.Signal // run: what stops CMD
	stdio         [3]bool        // the standard streams CMD gets from the pipe
	help, version bool           // -h/--help or -V/--version given
}

// findOption returns the option called name, short or long, or nil.
func findOption(name string) *option {
	for i := range options {
		if o := &options[i]; name == o.long || name != "" && name == o.short {
			return o
		}
	}
	return nil
}

// switchFor returns the field -h/--help or -V/--version sets, or nil for any other name.
func (inv *invocation) switchFor(name string) *bool {
	switch name {
	case "h", "help":
		return &inv.help
	case "V", "version":
		return &inv.version
	}
	return nil
}

// parse decides the command, its options and CMD from args and the
// environment; it touches nothing else. Options go before or after the
// command, in the flag package's forms; everything after -- is CMD's.
func parse(args []string, getenv func(string) string) (*invocation, error) {
	inv := &invocation{req: request{path: defaultPath, mode: 0o600}, grace: 10 * time.Second, stop: syscall.SIGTERM}
	var dashes, words = false, []string(nil)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			inv.exec, dashes = args[i+1:], true
			break
		}
		if len(a) < 2 || a[0] != '-' {
			words = append(words, a)
			continue
		}
		var err error
		if i, err = inv.setOption(args, i); err != nil {
			return nil, err
		}
	}
	if len(words) > 0 {
		if inv.cmd = lookup(words[0]); inv.cmd == nil {
			return nil, usageError("unknown command " + strconv.Quote(words[0]) + suggest(words[0], commandNames(), ""))
		}
		words = words[1:]
	}
	switch {
	case inv.cmd != nil && inv.cmd.name == "help" && len(words) > 1:
		return nil, usageError("help takes one command name at most")
	case inv.cmd != nil && inv.cmd.name == "help":
		inv.topic = strings.Join(words, "")
	case inv.help:
		if inv.cmd != nil {
			inv.topic = inv.cmd.name
		}
		inv.cmd = lookup("help")
	case inv.version:
		inv.cmd = lookup("version")
	case inv.cmd == nil:
		return nil, usageError("no command given; run 'lockpipe help'")
	}
	switch name := inv.cmd.name; {
	case dashes && !takesCmd(name):
		return nil, usageError("a command to run after -- applies only to read, write, hold and run")
	case dashes && len(inv.exec) == 0:
		return nil, usageError("nothing to run after --")
	case name == "help" || inv.version:
		return inv, nil
	}
	return inv, inv.complete(words, getenv)
}

// takesCmd reports whether the command named name runs a CMD given after --.
func takesCmd(name string) bool { return strings.Contains(lookup(name).args, "CMD") }

// setOption sets the option args[i] names, with its value from the same
// argument or the next, and returns the index of the last argument it used.
func (inv *invocation) setOption(args []string, i int) (int, error) {
	a := args[i]
	name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
	typed, _, _ := strings.Cut(a, "=")
	if on := inv.switchFor(name); on != nil {
		if hasValue {
			return i, usageError("option " + strconv.Quote(typed) + " takes no value")
		}
		*on = true
		return i, nil
	}
	o := findOption(name)
	switch {
	case o == nil:
		return i, usageError("unknown option " + strconv.Quote(typed) + suggest(name, optionNames(), "--"))
	case o.meta == "" && hasValue:
		return i, usageError("option " + strconv.Quote(typed) + " takes no value")
	case o.meta != "" && !hasValue && i+1 == len(args):
		return i, usageError("option " + strconv.Quote(typed) + " needs a value")
	case o.meta != "" && !hasValue:
		i++
		value = args[i]
	}
	if err := o.set(inv, value); err != nil {
		return i, usageError("invalid value " + strconv.Quote(value) + " for " + quoteIfNeeded(typed) + ": " + err.Error())
	}
	inv.given |= o.bit
	return i, nil
}

// complete checks the command's arguments and options, and reads the variables of those not given.
func (inv *invocation) complete(words []string, getenv func(string) string) error {
	c := inv.cmd
	switch {
	case c.name == "install" && len(words) != 1:
		return usageError("install takes one directory, DIR; run 'lockpipe help install'")
	case c.name == "install":
		inv.dir = words[0]
	case len(words) > 0 && takesCmd(c.name):
		return usageError("unexpected argument " + strconv.Quote(words[0]) + " after " + c.name +
			"; to run it once released, put -- before it: lockpipe " + c.name + " ... -- " + quoteIfNeeded(words[0]))
	case len(words) > 0:
		return usageError("unexpected argument " + strconv.Quote(words[0]) + " after " + c.name)
	}
	for i := range options {
		o := &options[i]
		if inv.given&o.bit != 0 && c.opts&o.bit == 0 {
			return usageError("option " + optionName(o) + " does not apply to " + c.name)
		}
		// A flag beats the variable; a variable is read only by the commands it
		// applies to; --nowait never waits, so a LOCKPIPE_TIMEOUT meant for others is no error.
		if inv.given&o.bit != 0 || c.opts&o.bit == 0 || o.env == "" || o.bit == optTimeout && inv.req.nowait {
			continue
		}
		// An empty variable counts as unset, as in most tools.
		if s := getenv(o.env); s != "" {
			if err := o.set(inv, s); err != nil {
				return usageError("invalid " + o.env + " " + strconv.Quote(s) + ": " + err.Error())
			}
		}
	}
	redirect, named := inv.given&optRedirect, ""
	for i := len(options) - 1; i >= 0; i-- {
		if redirect&options[i].bit != 0 {
			named = optionName(&options[i]) // the first of them given
		}
	}
	switch {
	case inv.req.nowait && inv.given&optTimeout != 0:
		return usageError("option -n/--nowait never waits, so -t/--timeout does not apply")
	case c.name == "run" && len(inv.exec) == 0:
		return usageError("run needs a command to run: lockpipe run ... -- CMD [ARG...]")
	case redirect != 0 && len(inv.exec) == 0:
		return usageError("option " + named + " connects the pipe to CMD, and no CMD is given after --")
	case redirect != 0 && inv.req.ifExists:
		return usageError("option " + named + " with --if-exists: when nothing is there, there is nothing to connect CMD to")
	}
	inv.req.keep = redirect != 0
	return nil
}

// optionName is how help and messages name an option: "-p/--path", or "--if-exists".
func optionName(o *option) string {
	if o.short == "" {
		return "--" + o.long
	}
	return "-" + o.short + "/--" + o.long
}

// quoteIfNeeded returns s as typed, quoted only if it holds anything a terminal could act on.
func quoteIfNeeded(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

// optionNames lists the long options, for suggestions.
func optionNames() []string {
	names := []string{"help", "version"}
	for _, o := range options {
		names = append(names, o.long)
	}
	return names
}

// commandNames lists the commands, for suggestions.
func commandNames() (names []string) {
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

// setPath sets the pipe's path.
func setPath(inv *invocation, s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("the path is empty")
	}
	inv.req.path = s
	return nil
}

// setMode sets the permissions for a pipe this call creates.
func setMode(inv *invocation, s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return errors.New("not an octal mode from 0 to 0777")
	}
	inv.req.mode = uint32(n)
	return nil
}

// setSignal sets the signal run stops CMD with: a name, with or without SIG, in any case.
func setSignal(inv *invocation, s string) error {
	name := "SIG" + strings.TrimPrefix(strings.ToUpper(s), "SIG")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGKILL} {
		if signalName(sig) == name {
			inv.stop = sig
			return nil
		}
	}
	return errors.New("not TERM, INT, HUP, QUIT, USR1, USR2 or KILL")
}

// parseDuration reads a duration as sleep or Go write it: plain seconds,
// a number with s, m, h or d, or a Go duration; inf and infinity, in any
// case, give infinite. Exponents and hexadecimal, which sleep also takes, are refused.
func parseDuration(s string, infinite time.Duration) (time.Duration, error) {
	if l := strings.ToLower(s); l == "inf" || l == "infinity" {
		return infinite, nil
	}
	bad := errors.New("not a duration like 500ms, 90s, 1h30m, 2d, 30, 0.5, 0 or infinity")
	number := strings.TrimRight(s, "smhd")
	if len(s)-len(number) > 1 || number == "" || number == "." || strings.Trim(number, "0123456789.") != "" || strings.Count(number, ".") > 1 {
		// Not sleep's form: a Go duration, such as 1h30m, 1.5h or 300us.
		d, err := time.ParseDuration(s)
		switch {
		case err == nil && d >= 0:
			return d, nil
		case err != nil && goDuration(s):
			return 0, errOutOfRange
		}
		return 0, bad
	}
	// Through ParseDuration too, which reads decimals exactly and keeps strconv's float parser out.
	unit := map[string]time.Duration{"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[s[len(number):]]
	d, err := time.ParseDuration(number + "s")
	switch {
	case err != nil || d > math.MaxInt64/unit:
		return 0, errOutOfRange // the syntax is sleep's, so only the size can be wrong
	case d == 0 && strings.Trim(number, "0.") != "":
		return 1, nil // a tiny limit must not turn into none at all
	}
	return d * unit, nil
}

// errOutOfRange is a duration too long for Go's time.Duration.
var errOutOfRange = errors.New("out of range: the longest is 2562047h (about 292 years); inf for no limit")

// goDuration reports whether s is written as a Go duration, whatever its size:
// whether it parses once each run of digits is made small.
func goDuration(s string) bool {
	small, digits := "", false
	for _, c := range s {
		if isDigit := c >= '0' && c <= '9'; !isDigit || !digits {
			small += string(c)
			digits = isDigit
		}
	}
	_, err := time.ParseDuration(small)
	return err == nil
}

// runWait is read and write: the wait, then CMD if one is given.
func runWait(inv *invocation, reading bool) error {
	fd, err := await(inv.req, reading, catchSignals)
	if err != nil || len(inv.exec) == 0 {
		return err
	}
	stdio := [3]int{-1, -1, -1}
	for i, on := range inv.stdio {
		if on {
			stdio[i] = fd
		}
	}
	return become(inv.exec, os.Getenv("PATH"), stdio)
}

// runHold holds the pipe open for writing while CMD runs, or until a signal.
func runHold(inv *invocation, _ io.Writer) error {
	fd, err := holdOpen(inv.req.path, inv.req.mode)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	catchSignals()
	q := strconv.Quote(inv.req.path)
	setDoing("holding pipe at " + q)
	if len(inv.exec) == 0 {
		info("holding pipe at " + q + " until a signal")
		select {}
	}
	info("holding pipe at " + q + " while " + strconv.Quote(inv.exec[0]) + " runs")
	s := supervision{argv: inv.exec, path: os.Getenv("PATH")}
	return s.run()
}

// runRun runs CMD until the pipe releases it, then stops CMD's process group.
func runRun(inv *invocation, _ io.Writer) error {
	r := inv.req
	p, err := r.take()
	if p == nil {
		return err
	}
	r.taken = p
	catchSignals()
	s := supervision{argv: inv.exec, path: os.Getenv("PATH"), group: true, stop: inv.stop, grace: inv.grace,
		release: func() error { _, err := await(r, true, func() {}); return err }}
	return s.run()
}

// runExists reports whether the named pipe is there.
func runExists(inv *invocation, _ io.Writer) error {
	q := strconv.Quote(inv.req.path)
	debug("checking if pipe exists at " + q)
	recoverDelete(inv.req.path)
	switch found, err := exists(inv.req.path); {
	case err != nil:
		return err
	case !found:
		return &failure{statusNoPipe, levelInfo, "pipe does not exist at " + q}
	}
	info("pipe exists at " + q)
	return nil
}

// runDelete releases the pipe's waiters and removes it; signals wait while the path is moved away.
func runDelete(inv *invocation, _ io.Writer) error {
	q := strconv.Quote(inv.req.path)
	debug("deleting pipe at " + q)
	setDoing("deleting pipe at " + q)
	catchSignals()
	if removed, err := remove(inv.req.path); err != nil || !removed {
		if err == nil {
			warn("pipe does not exist at " + q)
		}
		return err
	}
	info("deleted pipe at " + q)
	return nil
}

// runInstall copies the running binary into the directory.
func runInstall(inv *invocation, _ io.Writer) error {
	catchSignals()
	dst, err := install(inv.dir)
	if err == nil {
		info("installed lockpipe at " + strconv.Quote(dst))
	}
	return err
}

// printOut writes text to standard output; failing that, its errno is the status.
func printOut(stdout io.Writer, text string) error {
	if _, err := io.WriteString(stdout, text); err != nil {
		return outputError(err)
	}
	return nil
}

// versionString returns the version: set at link time, else the module's,
// else the VCS revision the build information holds, else devel.
func versionString() string {
	bi, ok := runtimedebug.ReadBuildInfo()
	switch {
	case version != "" || !ok:
		return cmp.Or(version, "devel")
	case bi.Main.Version != "" && bi.Main.Version != "(devel)":
		return bi.Main.Version
	}
	rev, dirty := "devel", ""
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			rev = s.Value
		} else if s.Key == "vcs.modified" && s.Value == "true" {
			dirty = "+dirty"
		}
	}
	return rev + dirty
}

// usageLine returns a command's synopsis.
func usageLine(c *command) string {
	s := "lockpipe " + c.name
	for _, o := range options {
		if c.opts&o.bit != 0 {
			flag := "-" + o.short
			if o.short == "" {
				flag = "--" + o.long
			}
			s += " [" + strings.TrimSpace(flag+" "+o.meta) + "]"
		}
	}
	return strings.TrimSpace(s + " " + c.args)
}

// pad returns s followed by spaces up to width.
func pad(s string, width int) string {
	if len(s) >= width {
		return s + " "
	}
	return s + strings.Repeat(" ", width-len(s))
}

// optionsHelp describes the options in set, with their variables and defaults.
func optionsHelp(set optSet) string {
	s := ""
	for _, o := range options {
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

// run carries out one command line and returns how it ended: nil is success.
func run(args []string, getenv func(string) string, stdout io.Writer) error {
	setupLogging(getenv)
	inv, err := parse(args, getenv)
	if err != nil {
		return err
	}
	c := inv.cmd
	if c.run == nil {
		text, err := helpText(inv.topic)
		if err != nil {
			return err
		}
		return printOut(stdout, text)
	}
	setDoing("running " + c.name)
	r := &inv.req
	trace("command " + c.name + ", path " + strconv.Quote(r.path) + ", mode 0" +
		strconv.FormatUint(uint64(r.mode), 8) + ", timeout " + r.timeout.String())
	return c.run(inv, stdout)
}

// init catches signals before anything of lockpipe's own runs when it is
// PID 1, where the kernel drops a signal that has no handler. Elsewhere the
// default action ends lockpipe with the same status until it waits, and
// setting up signal delivery (a thread) would cost every start a millisecond.
func init() {
	if os.Getpid() == 1 {
		catchSignals()
	}
}

// main runs one command line and exits once, with its status.
func main() {
	exit(run(os.Args[1:], os.Getenv, os.Stdout))
}
