// Package blockdev is the volume backend interface: where the bytes of
// Block Storage volumes, snapshots and clones live. Implementations are
// named after their technology (file/ over qemu-img; LVM and Ceph RBD
// later); blockdevtest holds an in-memory fake. It imports no domain
// package and knows nothing of the store or of HTTP.
package blockdev
