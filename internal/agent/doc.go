// Package agent is Nubo's host agent: it registers its host with the
// control plane (hostapi.Control), reads the host's desired State, converges
// the guests, disks and volumes on the host towards it, reports what it did
// and long-polls for the next revision. It is level-triggered: converging the
// same State twice does nothing the second time, and an agent started after a
// crash re-adopts the running guests through the hypervisor driver and
// finishes whatever was interrupted.
//
// Networking (bridges, taps, security groups, routers, DHCP) belongs to a
// NetConverger (package netagent); this package calls it before it starts a
// guest, since taps must exist before QEMU opens them.
//
// # Files on the host
//
//	<DataDir>/images/<image-id>         cached base images, always qcow2 (raw
//	                                    images are converted on download)
//	<DataDir>/instances/<server-id>/    one directory per server:
//	    disk          root disk: qcow2 overlay on the cached base image
//	    disk.rescue   rescue root disk (overlay on the rescue image)
//	    disk.eph0     ephemeral disk (flavor ephemeral_gb), qcow2
//	    disk.swap     swap disk (flavor swap_mb), qcow2
//	    disk.config   config drive (config-2 ISO)
//	    agent.json    what the agent attached and reported (NICs, volumes)
//
// The hypervisor driver keeps its own state directory per guest (sockets,
// serial log, definition); the agent deletes it with the guest.
//
// # Tasks
//
// Every server in the State may carry a task (Nova's task_state). The agent
// performs it with the driver and reports the state Nova would leave the
// server in (compute.Outcome, mirrored in outcome here). Decisions worth
// knowing:
//
//   - Memory is at least 128 MiB whatever the flavor says: the cloud kernel
//     Nubo's test guests use does not boot below ~72 MiB and needs ~96 MiB
//     to be useful (research/dataplane.md §1a).
//   - Cold migration and resize (resize_migrated, resize_reverting) and the
//     "live" migration (migrating, done cold: there is no shared storage and
//     no memory copy) are performed by the destination host. A same-host
//     resize keeps the disk: stop, grow the root disk, redefine with the
//     new flavor, start. A server arriving from another host gets a root
//     disk made from its image (the source's disk is not reachable: the
//     guest's changes are lost, volumes are kept). During a move the
//     control plane lists the server on its source host too (HostID names
//     the destination there): the source only stops the guest and keeps
//     its disk, so a revert brings the original disk back; once the move
//     is confirmed the server leaves the source's State and its guest is
//     deleted as a stray.
//   - Snapshots (image_snapshot, shelving) are flattened qcow2 copies of the
//     root disk, uploaded into the queued image. Shelving stops the guest
//     first (consistent disk), then snapshots, then deletes the guest.
//   - updating_password succeeds without touching the guest (no guest
//     agent).
//   - A volume attach or detach is reported once it is done (Attached
//     true or false); a failure is reported with Attached naming the
//     operation that failed. A guest that does not release a detached disk
//     within DetachTimeout fails the detach (the volume stays attached), as
//     under Nova. An extended volume is grown live (hypervisor.Resizer) or,
//     with no guest process, with qemu-img.
//   - Volumes use the volume ID as disk ID, so the guest sees the volume ID
//     as the virtio serial (/dev/disk/by-id/virtio-<first 20 characters>),
//     as under Nova/libvirt.
//   - A guest the State says is running but that is found shut off or
//     crashed, with no task pending, is reported once like Nova's power
//     sync does (task "", vm_state stopped, power_state 4); the agent does
//     not start it again. After a host reboot every guest is in that case:
//     like Nova's default (resume_guests_state_on_host_boot = false), the
//     servers become SHUTOFF. A server whose guest is missing altogether
//     is recreated (and started unless it is stopped).
//   - Failures that will pass (the image service unreachable, a port not
//     yet in the State) are retried with a per-server backoff instead of
//     being reported; the others are reported as the task's error.
//   - Anything the driver lists that the State does not hold, and instance
//     directories without a server, are deleted.
package agent
