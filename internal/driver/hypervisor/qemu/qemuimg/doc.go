// Package qemuimg wraps the qemu-img tool: qcow2 overlays on a cached base
// image (backing files), conversions for snapshots and image uploads,
// resizes and image info. Every function runs qemu-img as a child process
// bounded by its context.
//
// It must not import any domain package; callers pass paths and formats.
package qemuimg
