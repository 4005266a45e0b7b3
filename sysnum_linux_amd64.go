//go:build linux && amd64

package main

// sysRenameat2 is renameat2(2)'s number on amd64.
const sysRenameat2 = 316
