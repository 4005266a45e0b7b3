//go:build linux && arm

package main

// sysRenameat2 is renameat2(2)'s number on arm.
const sysRenameat2 = 382
