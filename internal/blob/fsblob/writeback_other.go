//go:build !linux

package fsblob

import "os"

// writeback is a no-op where sync_file_range(2) does not exist.
type writeback struct{}

func (wb *writeback) wrote(*os.File, int) {}
