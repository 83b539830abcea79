package fsblob

import (
	"os"
	"syscall"
)

// writebackWindow is how many bytes a writer lets pile up before it starts
// their writeback.
const writebackWindow = 8 << 20

// Flags of sync_file_range(2).
const (
	syncFileRangeWaitBefore = 1
	syncFileRangeWrite      = 2
)

// writeback keeps the disk busy while a blob streams in, so that Commit's
// fsync finds little left to write: each full window is queued for
// writeback at once (SYNC_FILE_RANGE_WRITE, asynchronous), and the window
// before it is waited for, which also bounds the blob's dirty pages to
// about two windows. Errors are ignored: fsync in Commit is what counts.
type writeback struct {
	written, started int64
}

func (wb *writeback) wrote(f *os.File, n int) {
	wb.written += int64(n)
	if wb.written-wb.started < writebackWindow {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { //nolint:errcheck // advisory
		for wb.written-wb.started >= writebackWindow {
			syncFileRange(fd, wb.started, writebackWindow, syncFileRangeWrite)
			if wb.started >= writebackWindow {
				syncFileRange(fd, wb.started-writebackWindow, writebackWindow, syncFileRangeWaitBefore)
			}
			wb.started += writebackWindow
		}
	})
}

func syncFileRange(fd uintptr, off, n int64, flags int) {
	syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, fd, uintptr(off), uintptr(n), uintptr(flags), 0, 0) //nolint:errcheck // advisory
}
