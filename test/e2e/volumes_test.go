//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
)

// TestVolumes drives Cinder volumes through real guests, all through the
// public APIs (Cinder v3 and Nova's os-volume_attachments):
//
//   - a volume attached to a running guest gets a marker written by it;
//     detached and attached to a second guest, that guest reads the marker;
//   - extending the volume while attached shows the new size in the guest;
//   - a snapshot of the volume, and a volume created from the snapshot,
//     hold the marker (read by a guest the new volume is attached to);
//   - a server booted from a volume created from the image (delete on
//     termination false) writes a marker on its root disk, and sees it
//     grow when the volume is extended; after the
//     server is deleted the volume is available, and a new server booted
//     from it reads the marker.
//
// The guests run markerScript from their config drive (no network).
func TestVolumes(t *testing.T) {
	w := newWorld(t)
	h := w.addHost("h1", netip.MustParseAddr("192.0.2.1"), true)
	w.waitHypervisor(h)
	bs := w.blockStorage()
	ctx := context.Background()

	// Three guests boot at once: a and b for the attach scenarios, c from
	// a volume made from the image.
	start := time.Now()
	a := w.boot(serverOpts{name: "vol-a", configDrive: true, userData: markerScript("a", false)})
	b := w.boot(serverOpts{name: "vol-b", configDrive: true, userData: markerScript("b", false)})
	c := w.bootFromVolume("vol-c", markerScript("c", true), servers.BlockDevice{SourceType: servers.SourceImage, UUID: w.imageID,
		DestinationType: servers.DestinationVolume, VolumeSize: 1, BootIndex: 0, DeleteOnTermination: false})
	vol := w.createVolume(bs, volumes.CreateOpts{Name: "vol-data", Size: 1})
	for _, id := range []string{a, b, c} {
		w.waitStatus(id, "ACTIVE", 3*time.Minute)
	}
	for _, id := range []string{a, b} {
		w.waitConsole(id, "FZ-MARKER-SCRIPT", 3*time.Minute)
	}
	t.Logf("three guests up (two from the image, one from a volume) in %v", time.Since(start).Round(time.Millisecond))

	marker := "NUBOMARK-a-vdb"
	t.Run("attach-write-detach-reattach-read", func(t *testing.T) {
		defer w.as(t)()
		began := time.Now()
		w.attach(a, vol)
		w.waitConsole(a, "FZ-WROTE vdb "+serial(vol)+" "+marker, 2*time.Minute)
		t.Logf("attach → the guest wrote its marker: %v", time.Since(began).Round(time.Millisecond))
		w.waitVolume(bs, vol, "in-use", time.Minute)

		w.detach(a, vol)
		w.waitVolume(bs, vol, "available", 2*time.Minute)
		eventually(t, time.Minute, "the disk gone from guest a", func() error {
			if blk := lastBLK(w.console(a)); strings.Contains(blk, serial(vol)) {
				return fmt.Errorf("guest a still lists it: %s", blk)
			}
			return nil
		})
		if vs := w.serverVolumes(a); len(vs) != 0 {
			t.Errorf("server a still lists volumes %v after the detach", vs)
		}

		w.attach(b, vol)
		w.waitConsole(b, "FZ-FOUND vdb "+serial(vol)+" "+marker, 2*time.Minute)
		w.waitVolume(bs, vol, "in-use", time.Minute)
	})
	if t.Failed() {
		return
	}

	t.Run("extend-in-use", func(t *testing.T) {
		defer w.as(t)()
		began := time.Now()
		if err := volumes.ExtendSize(ctx, bs, vol, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		w.waitConsole(b, "FZ-SIZE vdb "+serial(vol)+" 4194304", 2*time.Minute) // 2 GiB in 512-byte sectors
		t.Logf("extend 1 → 2 GiB → the guest sees it: %v", time.Since(began).Round(time.Millisecond))
		eventually(t, time.Minute, "the volume in-use at 2 GiB", func() error {
			v, err := volumes.Get(ctx, bs, vol).Extract()
			if err != nil {
				return err
			}
			if v.Status != "in-use" || v.Size != 2 {
				return fmt.Errorf("status %s size %d", v.Status, v.Size)
			}
			return nil
		})
	})

	t.Run("snapshot-and-volume-from-it", func(t *testing.T) {
		defer w.as(t)()
		// The volume is in use by b (force, as Cinder asks).
		snap, err := snapshots.Create(ctx, bs, snapshots.CreateOpts{VolumeID: vol, Force: true, Name: "vol-snap"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 2*time.Minute, "snapshot available", func() error {
			s, err := snapshots.Get(ctx, bs, snap.ID).Extract()
			if err != nil {
				return err
			}
			if s.Status != "available" {
				return fmt.Errorf("status %s", s.Status)
			}
			return nil
		})
		from := w.createVolume(bs, volumes.CreateOpts{Name: "vol-from-snap", SnapshotID: snap.ID, Size: 2})
		w.attach(a, from)
		w.waitConsole(a, "FZ-FOUND vdb "+serial(from)+" "+marker, 2*time.Minute)
		out := w.console(a)
		if strings.Contains(out, "FZ-WROTE vdb "+serial(from)) {
			t.Errorf("guest a found no marker on the volume from the snapshot")
		}
		w.detach(a, from)
		w.waitVolume(bs, from, "available", 2*time.Minute)
		if err := volumes.Delete(ctx, bs, from, volumes.DeleteOpts{}).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "volume from the snapshot deleted", func() error {
			if _, err := volumes.Get(ctx, bs, from).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
				return fmt.Errorf("still there (%v)", err)
			}
			return nil
		})
		if err := snapshots.Delete(ctx, bs, snap.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("boot-from-volume-survives-delete", func(t *testing.T) {
		defer w.as(t)()
		rootMarker := "NUBOMARK-c-vda"
		w.waitConsole(c, "FZ-WROTE vda ", 3*time.Minute)
		w.waitConsole(c, rootMarker, time.Second)
		vs := w.serverVolumes(c)
		if len(vs) != 1 {
			t.Fatalf("server c lists volumes %v, want its boot volume", vs)
		}
		root := vs[0]
		// The boot volume grows live too.
		if err := volumes.ExtendSize(ctx, bs, root, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		w.waitConsole(c, "FZ-SIZE vda "+serial(root)+" 4194304", 2*time.Minute)
		if err := servers.Delete(ctx, w.compute, c).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		w.waitGone(c, 2*time.Minute)
		w.waitVolume(bs, root, "available", 2*time.Minute)

		d := w.bootFromVolume("vol-d", markerScript("d", true), servers.BlockDevice{SourceType: servers.SourceVolume, UUID: root,
			DestinationType: servers.DestinationVolume, BootIndex: 0, DeleteOnTermination: true})
		w.waitStatus(d, "ACTIVE", 3*time.Minute)
		w.waitConsole(d, "FZ-FOUND vda "+serial(root)+" "+rootMarker, 3*time.Minute)
		if err := servers.Delete(ctx, w.compute, d).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		w.waitGone(d, 2*time.Minute)
		eventually(t, time.Minute, "the boot volume deleted with server d (delete_on_termination)", func() error {
			if _, err := volumes.Get(ctx, bs, root).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
				return fmt.Errorf("still there (%v)", err)
			}
			return nil
		})
	})

	// Delete the rest: the attached volume goes with its server's delete
	// (detached, not deleted), then the volume itself.
	for _, id := range []string{a, b} {
		if err := servers.Delete(ctx, w.compute, id).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{a, b} {
		w.waitGone(id, 2*time.Minute)
	}
	w.waitVolume(bs, vol, "available", 2*time.Minute)
	if err := volumes.Delete(ctx, bs, vol, volumes.DeleteOpts{}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "no volume left", func() error {
		pages, err := volumes.List(bs, volumes.ListOpts{AllTenants: true}).AllPages(ctx)
		if err != nil {
			return err
		}
		list, err := volumes.ExtractVolumes(pages)
		if err != nil {
			return err
		}
		if len(list) > 0 {
			return fmt.Errorf("%d volumes, the first %s %s", len(list), list[0].ID, list[0].Status)
		}
		return nil
	})
	w.nothingLeft(h)
}

// markerScript is user data (run from the config drive) that watches the
// guest's virtio disks in the background. For each disk (name and serial)
// not seen before it prints FZ-SIZE <dev> <serial> <sectors> (and again
// whenever the size changes), reads the first bytes (for the root disk vda,
// only when root is set: 64 MiB in, past disk.img's partition) and prints
// FZ-FOUND <dev> <serial> <marker> if they hold a marker, or writes
// NUBOMARK-<tag>-<dev> there and prints FZ-WROTE <dev> <serial> <marker>.
func markerScript(tag string, root bool) string {
	r := 0
	if root {
		r = 1
	}
	return fmt.Sprintf(`#!/bin/sh
TAG=%s
ROOT=%d
(
echo FZ-MARKER-SCRIPT
seen=" "; sizes=" "
while :; do
  for b in /sys/block/vd*; do
    [ -e "$b" ] || continue
    n=${b##*/}
    ser=$(cat $b/serial 2>/dev/null)
    sz=$(cat $b/size 2>/dev/null)
    case "$sizes" in *" $n:$ser:$sz "*) ;; *) echo "FZ-SIZE $n $ser $sz"; sizes=" $n:$ser:$sz$sizes" ;; esac
    case "$seen" in *" $n:$ser "*) continue ;; esac
    seen=" $n:$ser$seen"
    off=0
    if [ "$n" = vda ]; then
      [ "$ROOT" = 1 ] || continue
      off=131072
      [ "$sz" -gt 262144 ] || { echo "FZ-ROOT-TOO-SMALL $n $sz"; continue; }
    fi
    m=$(dd if=/dev/$n bs=512 skip=$off count=1 2>/dev/null | head -c 48 | tr -cd 'A-Za-z0-9-')
    case "$m" in
      NUBOMARK-*) echo "FZ-FOUND $n $ser $m" ;;
      *)
        m=NUBOMARK-$TAG-$n
        if printf '%%s\n' "$m" | dd of=/dev/$n bs=512 seek=$off count=1 conv=sync,notrunc,fsync 2>/dev/null; then
          sync
          echo "FZ-WROTE $n $ser $m"
        else
          echo "FZ-WRITE-FAILED $n $ser"
        fi ;;
    esac
  done
  sleep 0.2
done
) > /dev/console 2>&1 &
`, tag, r)
}

// serial is what the guest sees as a volume's serial: virtio-blk keeps 20
// bytes of it.
func serial(volumeID string) string {
	if len(volumeID) > 20 {
		return volumeID[:20]
	}
	return volumeID
}

// lastBLK is the guest's last FZ-BLK line.
func lastBLK(console string) string {
	i := strings.LastIndex(console, "FZ-BLK [")
	if i < 0 {
		return ""
	}
	s := console[i:]
	if j := strings.Index(s, "]"); j >= 0 {
		return s[:j+1]
	}
	return s
}

// as makes w report to t (a subtest) until the returned func is called.
func (w *world) as(t testing.TB) func() {
	parent := w.t
	w.t = t
	return func() { w.t = parent }
}

// blockStorage is an admin client for Cinder v3 at a microversion that
// extends in-use volumes (3.42).
func (w *world) blockStorage() *gophercloud.ServiceClient {
	w.t.Helper()
	c, err := openstack.NewBlockStorageV3(w.compute.ProviderClient, gophercloud.EndpointOpts{})
	if err != nil {
		w.t.Fatal(err)
	}
	c.Microversion = "3.60"
	return c
}

func (w *world) createVolume(bs *gophercloud.ServiceClient, opts volumes.CreateOpts) string {
	w.t.Helper()
	v, err := volumes.Create(context.Background(), bs, opts, nil).Extract()
	if err != nil {
		w.t.Fatalf("create volume %s: %v", opts.Name, err)
	}
	w.waitVolume(bs, v.ID, "available", 2*time.Minute)
	return v.ID
}

// waitVolume polls the volume until status or fails.
func (w *world) waitVolume(bs *gophercloud.ServiceClient, id, status string, timeout time.Duration) *volumes.Volume {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, err := volumes.Get(context.Background(), bs, id).Extract()
		if err != nil {
			w.t.Fatalf("get volume %s: %v", id, err)
		}
		if v.Status == status {
			return v
		}
		if strings.HasPrefix(v.Status, "error") {
			w.t.Fatalf("volume %s in %s, want %s", id, v.Status, status)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("volume %s: status %s after %v, want %s", id, v.Status, timeout, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *world) attach(serverID, volumeID string) {
	w.t.Helper()
	if _, err := volumeattach.Create(context.Background(), w.compute, serverID, volumeattach.CreateOpts{VolumeID: volumeID}).Extract(); err != nil {
		w.t.Fatalf("attach %s to %s: %v", volumeID, serverID, err)
	}
}

func (w *world) detach(serverID, volumeID string) {
	w.t.Helper()
	if err := volumeattach.Delete(context.Background(), w.compute, serverID, volumeID).ExtractErr(); err != nil {
		w.t.Fatalf("detach %s from %s: %v", volumeID, serverID, err)
	}
}

// serverVolumes lists the volumes Nova shows attached to a server.
func (w *world) serverVolumes(serverID string) []string {
	w.t.Helper()
	pages, err := volumeattach.List(w.compute, serverID).AllPages(context.Background())
	if err != nil {
		w.t.Fatalf("volume attachments of %s: %v", serverID, err)
	}
	list, err := volumeattach.ExtractVolumeAttachments(pages)
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a.VolumeID)
	}
	return ids
}

// waitHypervisor waits until h's agent registered it: Nova lists it as a
// hypervisor that is up (a server created before would find no host).
func (w *world) waitHypervisor(h *host) {
	w.t.Helper()
	eventually(w.t, time.Minute, "hypervisor "+h.name+" up", func() error {
		pages, err := hypervisors.List(w.compute, hypervisors.ListOpts{}).AllPages(context.Background())
		if err != nil {
			return err
		}
		list, err := hypervisors.ExtractHypervisors(pages)
		if err != nil {
			return err
		}
		for _, hv := range list {
			if hv.HypervisorHostname == h.name && hv.State == "up" {
				return nil
			}
		}
		return fmt.Errorf("not listed (%d hypervisors)", len(list))
	})
}

// bootFromVolume creates a server with no image, no network and a config
// drive, booting from bd.
func (w *world) bootFromVolume(name, userData string, bd servers.BlockDevice) string {
	w.t.Helper()
	opts := servers.CreateOpts{Name: name, FlavorRef: w.flavor, Networks: "none", UserData: []byte(userData),
		ConfigDrive: ptr(true), BlockDevice: []servers.BlockDevice{bd}}
	sv, err := servers.Create(context.Background(), w.compute, opts, nil).Extract()
	if err != nil {
		w.t.Fatalf("create server %s: %v", name, err)
	}
	return sv.ID
}
