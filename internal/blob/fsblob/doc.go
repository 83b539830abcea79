// Package fsblob implements blob.Store with files under one directory,
// opened as an os.Root so no key can reach outside it. A blob is written to
// a temporary name, synced, and renamed into place only on Commit; temporary
// files left by a crash are removed when the store is opened.
//
// It imports no domain package.
package fsblob
