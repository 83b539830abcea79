// Package blob defines where services keep large immutable byte streams
// (image data, later objects): a small Store interface whose writers make a
// blob visible only once it is complete (Commit), so a cut-off write leaves
// nothing behind. Implementations live in sub-packages named after their
// technology (fsblob: files on a local filesystem); an object-store or Ceph
// backend can come later behind the same interface.
//
// This package holds no implementation and imports no domain package.
package blob
