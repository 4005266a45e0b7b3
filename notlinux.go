//go:build !linux

package main

// lockpipe waits on Linux's named pipes with Linux's system calls (O_PATH,
// renameat2, dnotify, /proc); it builds for Linux only, and says so here.
var _ = lockpipeBuildsForLinuxOnly
