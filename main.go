//go:build linux

// Command lockpipe uses a named pipe as a synchronisation point: a
// commitment-free alternative to sleep. See README.md.
//
// main.go is the command line: the tables of options and commands, parsing,
// and the dispatch to each command. CONTRIBUTING.md says which file holds what.
package main

import (
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// version is the version to report; release builds set it with -ldflags '-X main.version=v1.2.3'.
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
	optAny
	optStatus
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
		help: "the named pipe; give it again for several", set: setPath},
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
	{bit: optAny, long: "any",
		help: "with several pipes: released by the first that releases, not by every one",
		set:  func(inv *invocation, _ string) error { inv.req.any = true; return nil }},
	{bit: optStatus, long: "status",
		help: "released by a hold's end: exit with its command's status, 112 when it has none; CMD runs only on 0",
		set:  func(inv *invocation, _ string) error { inv.req.status = true; return nil }},
	{bit: optGrace, long: "grace", meta: "DURATION", def: "10s",
		help: "run: how long CMD's process group has after the signal before SIGKILL; 0: at once, inf: never",
		set:  func(inv *invocation, s string) (err error) { inv.grace, err = parseDuration(s, longest); return }},
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
	withCmd     string // what CMD after -- is for ("once released"); "" when it takes none
	short, long string
	run         func(inv *invocation, stdout io.Writer) error // nil for help, which reads this table
	startup     bool                                          // runs from init, on the startup thread (see init)
}

var commands = [...]command{
	{name: "create", alias: "c", opts: optPath | optMode,
		short: "create the named pipe, or begin a new run of one",
		long:  helpCreate, run: runCreate},
	{name: "delete", alias: "d", opts: optPath,
		short: "release everyone waiting on the pipe, then remove it",
		long:  helpDelete, run: runDelete},
	{name: "exists", alias: "e", opts: optPath,
		short: "exit 0 if the named pipe exists, 1 if nothing is there",
		long:  helpExists, run: runExists},
	{name: "read", alias: "r", opts: optPath | optMode | optTimeout | optIfExists | optAny | optStatus | optStdin,
		args: "[-- CMD [ARG...]]", withCmd: "once released",
		short: "wait until something writes to the pipe",
		long:  helpRead, run: func(inv *invocation, _ io.Writer) error { return runWait(inv, true) }, startup: true},
	{name: "write", alias: "w", opts: optPath | optMode | optTimeout | optNowait | optIfExists | optAny | optStdout | optStderr,
		args: "[-- CMD [ARG...]]", withCmd: "once released",
		short: "wait until something reads from the pipe",
		long:  helpWrite, run: func(inv *invocation, _ io.Writer) error { return runWait(inv, false) }, startup: true},
	{name: "hold", opts: optPath | optMode, args: "[-- CMD [ARG...]]", withCmd: "while the pipe is held",
		short: "hold the pipe while CMD runs: its readers wait until CMD ends",
		long:  helpHold, run: func(inv *invocation, _ io.Writer) error { return runHold(inv) }},
	{name: "run", opts: optPath | optMode | optTimeout | optAny | optStatus | optGrace | optSignal, args: "-- CMD [ARG...]",
		withCmd: "until released",
		short:   "run CMD until the pipe releases it, then stop it: a sidecar's end",
		long:    helpRun, run: func(inv *invocation, _ io.Writer) error { return runRun(inv) }},
	{name: "status", alias: "s", opts: optPath,
		short: "show who holds, reads and waits on the pipe, without opening it",
		long:  helpStatus, run: runStatus},
	{name: "install", args: "DIR",
		short: "copy this binary to DIR/lockpipe, for a shared volume",
		long:  helpInstall, run: runInstall},
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
	pathGiven     bool           // a path replaced the default
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
	inv := &invocation{req: request{paths: []string{defaultPath}, mode: 0o600}, grace: 10 * time.Second, stop: syscall.SIGTERM}
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
	case dashes && inv.cmd.withCmd == "":
		return nil, usageError("a command to run after -- applies only to read, write, hold and run")
	case dashes && len(inv.exec) == 0:
		return nil, usageError("nothing to run after --")
	case name == "help" || inv.version:
		return inv, nil
	}
	return inv, inv.complete(words, getenv)
}

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
	case len(words) > 0 && c.withCmd != "":
		return usageError("unexpected argument " + strconv.Quote(words[0]) + " after " + c.name +
			"; to run it " + c.withCmd + ", put -- before it: lockpipe " + c.name + " ... -- " + quoteIfNeeded(words[0]))
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
	return inv.check()
}

// check refuses the combinations of options that cannot work together.
func (inv *invocation) check() error {
	c := inv.cmd
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
	case redirect != 0 && len(inv.req.paths) > 1:
		return usageError("option " + named + " connects one pipe to CMD, and -p/--path names " + strconv.Itoa(len(inv.req.paths)))
	case inv.req.any && len(inv.req.paths) < 2:
		return usageError("option --any chooses among several pipes, and -p/--path names one")
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
	for i := range options {
		names = append(names, options[i].long)
	}
	return names
}

// commandNames lists the commands, for suggestions.
func commandNames() (names []string) {
	for i := range commands {
		names = append(names, commands[i].name)
	}
	return names
}

// setPath adds a pipe's path; the first one given replaces the default.
func setPath(inv *invocation, s string) error {
	if trimSpace(s) == "" {
		return errors.New("the path is empty")
	}
	if !inv.pathGiven {
		inv.req.paths, inv.pathGiven = nil, true
	}
	inv.req.paths = append(inv.req.paths, s)
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
	for i := range signalTable {
		if t := &signalTable[i]; t.stops && (equalFold(s, t.name) || equalFold(s, t.name[len("SIG"):])) {
			inv.stop = t.sig
			return nil
		}
	}
	return errors.New("not TERM, INT, HUP, QUIT, USR1, USR2 or KILL")
}

// parseDuration reads a duration as sleep or Go write it: plain seconds,
// a number with s, m, h or d, or a Go duration; inf and infinity, in any
// case, give infinite. Exponents and hexadecimal, which sleep also takes, are refused.
func parseDuration(s string, infinite time.Duration) (time.Duration, error) {
	if equalFold(s, "inf") || equalFold(s, "infinity") {
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
	unit := time.Duration(1)
	switch s[len(number):] {
	case "m":
		unit = 60
	case "h":
		unit = 3600
	case "d":
		unit = 86400
	}
	d, err := time.ParseDuration(number + "s")
	switch {
	case err != nil || d > longest/unit:
		return 0, errOutOfRange // the syntax is sleep's, so only the size can be wrong
	case d == 0 && strings.Trim(number, "0.") != "":
		return 1, nil // a tiny limit must not turn into none at all
	}
	return d * unit, nil
}

// longest is the longest time.Duration: package math would cost every start its init.
const longest = time.Duration(1<<63 - 1)

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

// stdout writes to a descriptor with write(2) itself, blocking, and reports the errno of a failure.
type stdout int

// Write writes b whole, or stops at the first error.
func (fd stdout) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Write(int(fd), b[n:])
		if err != nil && err != syscall.EINTR {
			return n, err
		}
		n += max(m, 0)
	}
	return n, nil
}

// printOut writes text to standard output; failing that, its errno is the status.
func printOut(stdout io.Writer, text string) error {
	if _, err := io.WriteString(stdout, text); err != nil {
		return outputError(err)
	}
	return nil
}

// versionString returns the version set at link time, or devel; go version -m
// reads a source build's module version and revision from the binary.
func versionString() string {
	if version == "" {
		return "devel"
	}
	return version
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
	setDoing("running", c.name)
	if logs(levelTrace) { // the line costs every start its formatting, so only when it is read
		r := &inv.req
		paths := "path "
		if len(r.paths) > 1 {
			paths = "paths "
		}
		trace("command " + c.name + ", " + paths + quoteList(r.paths) + ", mode 0" +
			strconv.FormatUint(uint64(r.mode), 8) + ", timeout " + r.timeout.String())
	}
	return c.run(inv, stdout)
}

// init catches signals before anything of lockpipe's own runs when it is
// PID 1, where the kernel drops a signal that has no handler. Elsewhere the
// default action ends lockpipe with the same status until it waits, and
// setting up signal delivery (a thread) would cost every start a millisecond.
//
// Then, for a command line whose command is read or write (the test
// binary's begins with its own flags), it runs lockpipe from here: Go runs init
// functions on the startup thread and keeps the main goroutine there until
// they return, which is what a wait (the signal that interrupts it goes to
// its thread) and exec need, without the thread of its own that
// runtime.LockOSThread starts: a waiting read has the Go floor's four
// threads. hold and run gain nothing from it: with their main goroutine kept
// on one thread, Go starts more. init must stay the package's only init
// function: one after it would never run (TestOneInit).
func init() {
	if os.Getpid() == 1 {
		catchSignals()
	}
	if startsFromInit(os.Args) {
		fromInit = true
		main()
	}
}

// startsFromInit reports whether args, a command line, runs a command that
// starts from init: its first word that is neither one of lockpipe's
// options nor an option's value names it.
func startsFromInit(args []string) bool {
	for i := 1; i < len(args); i++ {
		if c := lookup(args[i]); c != nil {
			return c.startup
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-"), "=")
		o := findOption(name)
		if !strings.HasPrefix(args[i], "-") || o == nil {
			return false
		}
		if o.meta != "" && !hasValue {
			i++ // its value
		}
	}
	return false
}

// fromInit is set when lockpipe runs from init, its main goroutine kept on the startup thread.
var fromInit bool

// lockThread keeps the calling goroutine on its thread for good; the main
// goroutine, run from init, already is.
func lockThread(mainGoroutine bool) {
	if !mainGoroutine || !fromInit {
		runtime.LockOSThread()
	}
}

// main runs one command line and exits once, with its status.
func main() {
	exit(run(os.Args[1:], getenv, stdout(1)))
}

// environment is the environment as the process began, once getenv has read it.
var environment []string

// getenv returns the environment variable key, "" when it is unset. It
// reads the list the process began with: os.Getenv first builds a map of
// every variable, work and heap a start does not need (docs/figures.md).
// Its first call comes before lockpipe starts any goroutine.
func getenv(key string) string {
	if environment == nil {
		environment = environ()
	}
	return lookupEnv(environment, key)
}

// lookupEnv returns the value of key in env, a list of KEY=value; the
// first of several wins and an empty key has none, as with os.Getenv.
func lookupEnv(env []string, key string) string {
	if key == "" {
		return ""
	}
	for _, kv := range env {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			return kv[len(key)+1:]
		}
	}
	return ""
}
