//go:build linux

package main

// The commands that act on pipes directly (create, delete, exists), read and
// write, and install: each command's help, and its part of the dispatch.

import (
	"io"
	"strconv"
)

const helpCreate = `Create makes a named pipe at the path, with the mode exactly, whatever the
umask. A named pipe already there is success, with a warning. A missing
parent directory is not created. Either way the pipe begins a new run: the
record an earlier hold left is cleared (an INFO line says so), so readers
and run wait for the next holder. With several paths, when one of them
holds something other than a named pipe, nothing is created (17).`

const helpDelete = `Delete releases every reader and writer waiting on the named pipe (they
exit 0), then removes it and its hold's record. Nothing there is success,
with a warning. A symbolic link is never removed, even one that leads to a
named pipe. When the pipe cannot be removed, nobody is released. With
several paths, when one of them holds something other than a named pipe,
nothing is deleted (17).`

const helpExists = `Exists exits 0 when a named pipe is at the path (following symbolic
links), 1 when nothing is there (a missing parent directory or a dangling
symbolic link included), 17 when something else is there, and the errno
when the check itself fails. With several paths, 0 only when every one is a
named pipe.`

const helpRead = `Read creates the named pipe if nothing is there, then waits until a writer
opens it, discards whatever it sends until end-of-file, and exits 0. One
write releases every reader waiting at that moment; readers that come later
wait for the next one. A pipe that lockpipe hold holds is read until the
hold ends; once it has ended, read passes at once, until create begins a
new run. A reader whose pipe is removed from its path is released. The
pipe is never deleted. With several paths, read waits until every pipe has
released it, in any order (--any: the first). With --status, the end of a
hold releases it with the status of the hold's command.

With -- CMD, lockpipe becomes CMD once released (same PID, environment and
standard streams); after a timeout, a signal, a failure or a --status that
is not 0, CMD never runs. With --stdin, CMD reads its standard input from
the pipe instead: lockpipe becomes CMD as soon as a writer has opened it,
and reads nothing itself.`

const helpWrite = `Write creates the named pipe if nothing is there, then waits until a reader
opens it, closes it without writing, and exits 0. One read releases every
writer waiting at that moment. The pipe is never deleted. With --nowait it
never waits: it releases the readers waiting now, or exits 6 if there are
none. A held pipe counts as read at once, and releases none of its readers.
With several paths, write waits until every pipe has released it (--any:
the first).

With -- CMD, lockpipe becomes CMD once released, as for read. With --stdout
or --stderr (or both), CMD writes that stream into the pipe.`

const helpHold = `Hold makes sure a named pipe is at the path, holds it open for writing and
runs CMD as its child: every reader of the pipe waits until CMD ends, however
it ends (SIGKILL and lockpipe's own death included). Signals are forwarded
to CMD, orphans reaped as PID 1, and lockpipe exits with CMD's status. Without
CMD it holds until SIGTERM, SIGINT, SIGHUP or SIGQUIT ends it. It records the
hold beside the pipe (.lockpipe-record-NAME), then how CMD ended, so that a
reader that comes after the hold passes at once, until create begins a new
run, and read --status learns CMD's status. With several paths it holds them all.`

const helpRun = `Run makes sure a named pipe is at the path, starts CMD as its child in a
process group of its own, and waits on the pipe as read does. Once released
(a write, a delete, the end of a hold) it sends --signal to CMD's group, then
SIGKILL after --grace to what is left of it, and exits 0, or with --status
the hold's status. If CMD ends first, run exits with its status; after
--timeout it stops CMD and exits 110.`

const helpStatus = `Status prints what is known of each pipe, without ever opening it: whether
a named pipe is there (mode, owner), its hold's record in this run, whether
it is held now, and each process that holds it, writes to it, reads from it
or waits on it in lockpipe, as far as /proc lets this user see. One fact a
line, each beginning with the quoted path. It exits as exists does.`

const helpInstall = `Install copies the running binary to DIR/lockpipe with mode 0755, replacing
a regular file there atomically: a reader never sees a part of it. Anything
else at DIR/lockpipe is left untouched (17); a missing DIR is 2.`

// refuseOthers checks every path before a command acts on any: when one
// holds something that is not a named pipe, it fails naming it, and nothing
// has been touched. follow says whether a symbolic link may lead to the pipe.
func refuseOthers(paths []string, follow bool) error {
	if len(paths) < 2 {
		return nil
	}
	for _, p := range paths {
		h, err := takeHandle(p, follow)
		if err != nil {
			return err
		}
		h.close()
		if h.present() && !h.fifo {
			return notPipeError(p, h.what)
		}
	}
	return nil
}

// runCreate creates each pipe, or begins a new run of the one already there.
func runCreate(inv *invocation, _ io.Writer) error {
	if err := refuseOthers(inv.req.paths, true); err != nil {
		return err
	}
	for _, p := range inv.req.paths {
		h, created, err := create(p, inv.req.mode)
		if err != nil {
			return err
		}
		clearRecord(h, !created) // a new run: an earlier hold's record goes
		h.close()
	}
	return nil
}

// runExists reports whether every named pipe is there.
func runExists(inv *invocation, _ io.Writer) error {
	var missing error
	for _, p := range inv.req.paths {
		q := strconv.Quote(p)
		debugAt("checking if pipe exists at ", q)
		switch found, err := exists(p); {
		case err != nil:
			return err
		case !found:
			missing = infoLine(statusNoPipe, "pipe does not exist at "+q)
			if len(inv.req.paths) > 1 {
				info(missing.Error())
				missing = statusOnly(statusNoPipe)
			}
		default:
			info("pipe exists at " + q)
		}
	}
	return missing
}

// runDelete releases each pipe's waiters and removes it; signals wait while a path is moved away.
func runDelete(inv *invocation, _ io.Writer) error {
	if err := refuseOthers(inv.req.paths, false); err != nil {
		return err
	}
	catchSignals()
	for _, p := range inv.req.paths {
		q := strconv.Quote(p)
		debugAt("deleting pipe at ", q)
		setDoing("deleting pipe at", q)
		if removed, err := remove(p); err != nil || !removed {
			if err != nil {
				return err
			}
			warn("pipe does not exist at " + q)
			continue
		}
		info("deleted pipe at " + q)
	}
	return nil
}

// runWait is read and write: the wait, then CMD if one is given.
func runWait(inv *invocation, reading bool) error {
	inv.req.last = true
	waitSignals()
	w, err := await(&inv.req, reading)
	if err != nil || len(inv.exec) == 0 {
		return err
	}
	stdio := [3]int{-1, -1, -1}
	for i, on := range inv.stdio {
		if on {
			stdio[i] = w.waiters[0].fd
		}
	}
	return become(inv.exec, getenv("PATH"), stdio)
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
