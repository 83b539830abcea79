package contract

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// Volumes on servers: os-volume_attachments against the fake host (which
// plugs volumes in and out at once) and boot from volume.

func listAttachments(t *testing.T, sc *gophercloud.ServiceClient, serverID string) []volumeattach.VolumeAttachment {
	t.Helper()
	var out []volumeattach.VolumeAttachment
	err := volumeattach.List(sc, serverID).EachPage(context.Background(), func(_ context.Context, p pagination.Page) (bool, error) {
		vas, err := volumeattach.ExtractVolumeAttachments(p)
		out = append(out, vas...)
		return true, err
	})
	ok(t, err)
	return out
}

func volumesAttached(t *testing.T, sc *gophercloud.ServiceClient, id string) []any {
	t.Helper()
	l, _ := serverDetail(t, sc, id)["os-extended-volumes:volumes_attached"].([]any)
	return l
}

func TestComputeVolumes_AttachDetach(t *testing.T) {
	c, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	bs := blockStorage(t, c.Provider(t, c.AdminOptions()))
	sv := bootServer(t, sc, img, "vm")
	vol := createVolume(t, bs, volumes.CreateOpts{Size: 1, Name: "data"})

	va, err := volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: vol.ID, Tag: "db", DeleteOnTermination: false}).Extract()
	ok(t, err)
	if va.Device != "/dev/vdb" || va.VolumeID != vol.ID || va.ServerID != sv.ID || va.ID != vol.ID || va.Tag == nil || *va.Tag != "db" {
		t.Fatalf("attachment %+v", va)
	}
	waitVolume(t, bs, vol.ID, "in-use")
	v := must(volumes.Get(ctx, bs, vol.ID).Extract())(t)
	if len(v.Attachments) != 1 || v.Attachments[0].ServerID != sv.ID || v.Attachments[0].Device != "/dev/vdb" {
		t.Fatalf("cinder attachments %+v", v.Attachments)
	}
	if l := listAttachments(t, sc, sv.ID); len(l) != 1 || l[0].VolumeID != vol.ID {
		t.Fatalf("list %+v", l)
	}
	got := must(volumeattach.Get(ctx, sc, sv.ID, vol.ID).Extract())(t)
	if got.Device != "/dev/vdb" || got.DeleteOnTermination == nil || *got.DeleteOnTermination {
		t.Fatalf("get %+v", got)
	}
	if l := volumesAttached(t, sc, sv.ID); len(l) != 1 || l[0].(map[string]any)["id"] != vol.ID {
		t.Fatalf("volumes_attached %v", l)
	}

	// Errors: twice, unknown volume, unknown server, volume not available.
	_, err = volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: vol.ID}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: "6b4a1a8c-0c19-4a0f-a8a4-1d0a8b7f7f00"}).Extract()
	wantStatus(t, err, http.StatusNotFound)
	_, err = volumeattach.Create(ctx, sc, "6b4a1a8c-0c19-4a0f-a8a4-1d0a8b7f7f00", volumeattach.CreateOpts{VolumeID: vol.ID}).Extract()
	wantStatus(t, err, http.StatusNotFound)
	other := bootServer(t, sc, img, "other")
	_, err = volumeattach.Create(ctx, sc, other.ID, volumeattach.CreateOpts{VolumeID: vol.ID}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = volumeattach.Get(ctx, sc, other.ID, vol.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
	// A volume in use cannot be deleted.
	wantStatus(t, volumes.Delete(ctx, bs, vol.ID, nil).ExtractErr(), http.StatusBadRequest)

	// Detach: the volume is available again.
	ok(t, volumeattach.Delete(ctx, sc, sv.ID, vol.ID).ExtractErr())
	waitVolume(t, bs, vol.ID, "available")
	waitFor(t, "attachments of "+sv.ID, func() (string, error) {
		if len(listAttachments(t, sc, sv.ID)) == 0 {
			return "none", nil
		}
		return "some", nil
	}, "none")
	wantStatus(t, volumeattach.Delete(ctx, sc, sv.ID, vol.ID).ExtractErr(), http.StatusNotFound)

	// A rescued server refuses attach (409); a stopped one accepts it.
	ok(t, servers.Rescue(ctx, sc, other.ID, servers.RescueOpts{}).Err)
	waitStatus(t, sc, other.ID, "RESCUE")
	_, err = volumeattach.Create(ctx, sc, other.ID, volumeattach.CreateOpts{VolumeID: vol.ID}).Extract()
	wantStatus(t, err, http.StatusConflict)
	ok(t, servers.Stop(ctx, sc, sv.ID).ExtractErr())
	waitStatus(t, sc, sv.ID, "SHUTOFF")
	_, err = volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: vol.ID, Device: "/dev/vdc"}).Extract()
	ok(t, err)
	waitVolume(t, bs, vol.ID, "in-use")

	// Deleting the server detaches its volume (not delete_on_termination).
	ok(t, servers.Delete(ctx, sc, sv.ID).ExtractErr())
	waitGone(t, sc, sv.ID)
	waitVolume(t, bs, vol.ID, "available")
}

func TestComputeVolumes_Microversions(t *testing.T) {
	c, sc, img := serversCloud(t, "2.48")
	ctx := context.Background()
	bs := blockStorage(t, c.Provider(t, c.AdminOptions()))
	sv := bootServer(t, sc, img, "vm")
	vol := createVolume(t, bs, volumes.CreateOpts{Size: 1})
	// tag is 2.49, delete_on_termination 2.79.
	_, err := volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: vol.ID, Tag: "x"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: vol.ID, DeleteOnTermination: true}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: "not-a-uuid"}).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	var body map[string]map[string]any
	_, err = sc.Post(ctx, sc.ServiceURL("servers", sv.ID, "os-volume_attachments"),
		map[string]any{"volumeAttachment": map[string]any{"volumeId": vol.ID}}, &body, &gophercloud.RequestOpts{OkCodes: []int{200}})
	ok(t, err)
	if _, has := body["volumeAttachment"]["tag"]; has {
		t.Fatalf("tag shown before 2.70: %v", body)
	}
	waitVolume(t, bs, vol.ID, "in-use")
}

func TestComputeVolumes_BootFromVolume(t *testing.T) {
	c, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	bs := blockStorage(t, c.Provider(t, c.AdminOptions()))

	// Image → volume, deleted with the server.
	sv, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "bfv", FlavorRef: "42", Networks: "none",
		BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume,
			UUID: img, VolumeSize: 1, BootIndex: 0, DeleteOnTermination: true}}}, nil).Extract()
	ok(t, err)
	waitStatus(t, sc, sv.ID, "ACTIVE")
	d := serverDetail(t, sc, sv.ID)
	if d["image"] != "" {
		t.Fatalf("image of a volume-backed server: %v", d["image"])
	}
	att := volumesAttached(t, sc, sv.ID)
	if len(att) != 1 || att[0].(map[string]any)["delete_on_termination"] != true {
		t.Fatalf("volumes_attached %v", att)
	}
	root := att[0].(map[string]any)["id"].(string)
	v := must(volumes.Get(ctx, bs, root).Extract())(t)
	if v.Status != "in-use" || v.Bootable != "true" || len(v.Attachments) != 1 || v.Attachments[0].Device != "/dev/vda" {
		t.Fatalf("root volume %+v", v)
	}
	wantStatus(t, volumeattach.Delete(ctx, sc, sv.ID, root).ExtractErr(), http.StatusBadRequest)
	ok(t, servers.Delete(ctx, sc, sv.ID).ExtractErr())
	waitGone(t, sc, sv.ID)
	waitVolume(t, bs, root, "deleted")

	// Volume → volume: an existing bootable volume survives the server.
	boot := createVolume(t, bs, volumes.CreateOpts{Size: 1, ImageID: img, Name: "boot"})
	sv, err = servers.Create(ctx, sc, servers.CreateOpts{Name: "bfv2", FlavorRef: "42", Networks: "none",
		BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume,
			UUID: boot.ID, BootIndex: 0}}}, nil).Extract()
	ok(t, err)
	waitStatus(t, sc, sv.ID, "ACTIVE")
	waitVolume(t, bs, boot.ID, "in-use")
	l := listAttachments(t, sc, sv.ID)
	if len(l) != 1 || l[0].VolumeID != boot.ID || l[0].Device != "/dev/vda" {
		t.Fatalf("attachments %+v", l)
	}
	// The volume is taken: a second server cannot boot from it.
	_, err = servers.Create(ctx, sc, servers.CreateOpts{Name: "bfv3", FlavorRef: "42", Networks: "none",
		BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume,
			UUID: boot.ID, BootIndex: 0}}}, nil).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	ok(t, servers.Delete(ctx, sc, sv.ID).ExtractErr())
	waitGone(t, sc, sv.ID)
	waitVolume(t, bs, boot.ID, "available")

	// Errors: image → volume without a size, unknown volume.
	_, err = servers.Create(ctx, sc, servers.CreateOpts{Name: "bad", FlavorRef: "42", Networks: "none",
		BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume, UUID: img, BootIndex: 0}}}, nil).Extract()
	wantStatus(t, err, http.StatusBadRequest)
	_, err = servers.Create(ctx, sc, servers.CreateOpts{Name: "bad", FlavorRef: "42", Networks: "none",
		BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume,
			UUID: "6b4a1a8c-0c19-4a0f-a8a4-1d0a8b7f7f00", BootIndex: 0}}}, nil).Extract()
	wantStatus(t, err, http.StatusBadRequest)
}

func TestComputeVolumes_DeleteOnTermination(t *testing.T) {
	c, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	bs := blockStorage(t, c.Provider(t, c.AdminOptions()))
	sv := bootServer(t, sc, img, "vm")
	keep := createVolume(t, bs, volumes.CreateOpts{Size: 1, Name: "keep"})
	drop := createVolume(t, bs, volumes.CreateOpts{Size: 1, Name: "drop"})
	_, err := volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: keep.ID}).Extract()
	ok(t, err)
	va, err := volumeattach.Create(ctx, sc, sv.ID, volumeattach.CreateOpts{VolumeID: drop.ID, DeleteOnTermination: true}).Extract()
	ok(t, err)
	if va.Device != "/dev/vdc" || va.DeleteOnTermination == nil || !*va.DeleteOnTermination {
		t.Fatalf("second attachment %+v", va)
	}
	waitVolume(t, bs, keep.ID, "in-use")
	waitVolume(t, bs, drop.ID, "in-use")
	ok(t, servers.Delete(ctx, sc, sv.ID).ExtractErr())
	waitGone(t, sc, sv.ID)
	waitVolume(t, bs, keep.ID, "available")
	waitVolume(t, bs, drop.ID, "deleted")
}

func TestComputeVolumes_LegacyProxies(t *testing.T) {
	c, sc, _ := serversCloud(t, "2.35")
	ctx := context.Background()
	bs := blockStorage(t, c.Provider(t, c.AdminOptions()))
	var created map[string]map[string]any
	_, err := sc.Post(ctx, sc.ServiceURL("os-volumes"), map[string]any{"volume": map[string]any{"size": 1, "display_name": "legacy",
		"metadata": map[string]string{"k": "v"}}}, &created, &gophercloud.RequestOpts{OkCodes: []int{200}})
	ok(t, err)
	id, _ := created["volume"]["id"].(string)
	if created["volume"]["displayName"] != "legacy" || fmt.Sprint(created["volume"]["size"]) != "1" {
		t.Fatalf("created %v", created)
	}
	waitVolume(t, bs, id, "available")
	var list map[string][]map[string]any
	_, err = sc.Get(ctx, sc.ServiceURL("os-volumes", "detail"), &list, nil)
	ok(t, err)
	if len(list["volumes"]) != 1 || list["volumes"][0]["id"] != id || list["volumes"][0]["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("list %v", list)
	}
	for _, body := range []map[string]any{{"size": 0}, {"size": "#$%"}, {"display_name": "no size"}} {
		_, err = sc.Post(ctx, sc.ServiceURL("os-volumes"), map[string]any{"volume": body}, nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
		wantStatus(t, err, http.StatusBadRequest)
	}
	var snap map[string]map[string]any
	_, err = sc.Post(ctx, sc.ServiceURL("os-snapshots"), map[string]any{"snapshot": map[string]any{"volume_id": id, "display_name": "s"}},
		&snap, &gophercloud.RequestOpts{OkCodes: []int{200}})
	ok(t, err)
	sid, _ := snap["snapshot"]["id"].(string)
	waitSnapshot(t, bs, sid, "available")
	_, err = sc.Delete(ctx, sc.ServiceURL("os-snapshots", sid), nil)
	ok(t, err)
	waitSnapshot(t, bs, sid, "deleted")
	_, err = sc.Delete(ctx, sc.ServiceURL("os-volumes", id), nil)
	ok(t, err)
	waitVolume(t, bs, id, "deleted")
	_, err = sc.Get(ctx, sc.ServiceURL("os-volumes", id), nil, nil)
	wantStatus(t, err, http.StatusNotFound)
	// Gone from 2.36.
	sc236 := computeClient(t, c, "2.36")
	_, err = sc236.Get(ctx, sc236.ServiceURL("os-volumes"), nil, nil)
	wantStatus(t, err, http.StatusNotFound)
}

// TestComputeVolumes_SnapshotVolumeBacked: createImage of a volume-backed
// server snapshots its volume into an image-defined block device mapping;
// a server booted from that image gets a volume made from the snapshot.
func TestComputeVolumes_SnapshotVolumeBacked(t *testing.T) {
	c, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	bs := blockStorage(t, c.Provider(t, c.AdminOptions()))
	ic := imageClient(t, c, c.AdminOptions())
	sv, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "bfv", FlavorRef: "42", Networks: "none",
		BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceImage, DestinationType: servers.DestinationVolume,
			UUID: img, VolumeSize: 1, BootIndex: 0, DeleteOnTermination: true}}}, nil).Extract()
	ok(t, err)
	waitStatus(t, sc, sv.ID, "ACTIVE")
	imageID, err := servers.CreateImage(ctx, sc, sv.ID, servers.CreateImageOpts{Name: "snap"}).ExtractImageID()
	ok(t, err)
	var bdm string
	waitFor(t, "image "+imageID, func() (string, error) {
		im, err := images.Get(ctx, ic, imageID).Extract()
		if err != nil {
			return "", err
		}
		bdm, _ = im.Properties["block_device_mapping"].(string)
		return string(im.Status), nil
	}, "active")
	if bdm == "" {
		t.Fatal("no block_device_mapping on the snapshot image")
	}
	sv2, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "from-snap", FlavorRef: "42", Networks: "none", ImageRef: imageID}, nil).Extract()
	ok(t, err)
	waitStatus(t, sc, sv2.ID, "ACTIVE")
	att := volumesAttached(t, sc, sv2.ID)
	if len(att) != 1 {
		t.Fatalf("volumes_attached %v", att)
	}
	vol := att[0].(map[string]any)["id"].(string)
	v := must(volumes.Get(ctx, bs, vol).Extract())(t)
	if v.SnapshotID == "" || len(v.Attachments) != 1 || v.Attachments[0].ServerID != sv2.ID {
		t.Fatalf("volume from the image's snapshot %+v", v)
	}
	ok(t, servers.Delete(ctx, sc, sv2.ID).ExtractErr())
	waitVolume(t, bs, vol, "deleted")
}
