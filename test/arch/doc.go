// Package arch holds tests of the repository's shape: the import rules
// between layers and that every package documents itself in a doc.go.
package arch
