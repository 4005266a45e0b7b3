//go:build linux && s390x

package main

// sysRenameat2 is renameat2(2)'s number on s390x.
const sysRenameat2 = 347
