package contract

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/attachments"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
)

func TestVolume_CRUDExtendSnapshotClone(t *testing.T) {
	_, bs := newVolumeCloud(t)
	ctx := context.Background()
	v := createVolume(t, bs, volumes.CreateOpts{Size: 1, Name: "data", Metadata: map[string]string{"k": "v"}})
	if v.VolumeType != "__DEFAULT__" || v.Bootable != "false" || v.Multiattach {
		t.Fatalf("created %+v", v)
	}
	name := "renamed"
	got := must(volumes.Update(ctx, bs, v.ID, volumes.UpdateOpts{Name: &name}).Extract())(t)
	if got.Name != "renamed" {
		t.Fatalf("update: %+v", got)
	}
	pages := must(volumes.List(bs, volumes.ListOpts{Name: "renamed"}).AllPages(ctx))(t)
	list := must(volumes.ExtractVolumes(pages))(t)
	if len(list) != 1 || list[0].ID != v.ID {
		t.Fatalf("list by name: %+v", list)
	}

	// Extending to a smaller size is 400 and changes nothing.
	wantStatus(t, volumes.ExtendSize(ctx, bs, v.ID, volumes.ExtendSizeOpts{NewSize: 1}).ExtractErr(), http.StatusBadRequest)
	ok(t, volumes.ExtendSize(ctx, bs, v.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr())
	waitVolume(t, bs, v.ID, "available")
	if got := must(volumes.Get(ctx, bs, v.ID).Extract())(t); got.Size != 2 {
		t.Fatalf("size after extend %d", got.Size)
	}

	s := must(snapshots.Create(ctx, bs, snapshots.CreateOpts{VolumeID: v.ID, Name: "s"}).Extract())(t)
	waitSnapshot(t, bs, s.ID, "available")
	fromSnap := createVolume(t, bs, volumes.CreateOpts{SnapshotID: s.ID})
	clone := createVolume(t, bs, volumes.CreateOpts{SourceVolID: v.ID, Size: 3})
	if fromSnap.Size != 2 || clone.Size != 3 || fromSnap.SnapshotID != s.ID || clone.SourceVolID != v.ID {
		t.Fatalf("from snapshot %+v, clone %+v", fromSnap, clone)
	}
	// A volume with snapshots is deleted only with cascade.
	wantStatus(t, volumes.Delete(ctx, bs, v.ID, volumes.DeleteOpts{}).ExtractErr(), http.StatusBadRequest)
	ok(t, volumes.Delete(ctx, bs, v.ID, volumes.DeleteOpts{Cascade: true}).ExtractErr())
	waitVolume(t, bs, v.ID, "deleted")
	waitSnapshot(t, bs, s.ID, "deleted")
	wantStatus(t, volumes.Get(ctx, bs, "00000000-0000-0000-0000-000000000000").Err, http.StatusNotFound)
}

func TestVolume_AttachmentsAndLegacyActions(t *testing.T) {
	_, bs := newVolumeCloud(t)
	ctx := context.Background()
	v := createVolume(t, bs, volumes.CreateOpts{Size: 1})

	// Legacy flow, as Nova before 3.27.
	ok(t, volumes.Reserve(ctx, bs, v.ID).ExtractErr())
	waitVolume(t, bs, v.ID, "attaching")
	ci := must(volumes.InitializeConnection(ctx, bs, v.ID, volumes.InitializeConnectionOpts{Host: "h1", Initiator: "iqn"}).Extract())(t)
	if ci["driver_volume_type"] != "file" {
		t.Fatalf("connection info %v", ci)
	}
	ok(t, volumes.Attach(ctx, bs, v.ID, volumes.AttachOpts{MountPoint: "/dev/vdb", InstanceUUID: "11111111-2222-3333-4444-555555555555", Mode: "rw"}).ExtractErr())
	waitVolume(t, bs, v.ID, "in-use")
	// In use: delete and a second attach are 400.
	wantStatus(t, volumes.Delete(ctx, bs, v.ID, volumes.DeleteOpts{}).ExtractErr(), http.StatusBadRequest)
	wantStatus(t, volumes.Reserve(ctx, bs, v.ID).ExtractErr(), http.StatusBadRequest)
	ok(t, volumes.BeginDetaching(ctx, bs, v.ID).ExtractErr())
	ok(t, volumes.Detach(ctx, bs, v.ID, volumes.DetachOpts{}).ExtractErr())
	waitVolume(t, bs, v.ID, "available")

	// Attachments API (3.44 for complete).
	bs.Microversion = "3.44"
	a := must(attachments.Create(ctx, bs, attachments.CreateOpts{VolumeUUID: v.ID, InstanceUUID: "11111111-2222-3333-4444-555555555555"}).Extract())(t)
	if a.Status != "reserved" {
		t.Fatalf("attachment %+v", a)
	}
	a = must(attachments.Update(ctx, bs, a.ID, attachments.UpdateOpts{Connector: map[string]any{"host": "h1"}}).Extract())(t)
	if a.ConnectionInfo["driver_volume_type"] != "file" {
		t.Fatalf("attachment connection %v", a.ConnectionInfo)
	}
	ok(t, attachments.Complete(ctx, bs, a.ID).ExtractErr())
	waitVolume(t, bs, v.ID, "in-use")
	got := must(volumes.Get(ctx, bs, v.ID).Extract())(t)
	if len(got.Attachments) != 1 || got.Attachments[0].AttachmentID != a.ID {
		t.Fatalf("volume attachments %+v", got.Attachments)
	}
	ok(t, attachments.Delete(ctx, bs, a.ID).ExtractErr())
	waitVolume(t, bs, v.ID, "available")
	wantStatus(t, attachments.Get(ctx, bs, a.ID).Err, http.StatusNotFound)
}

func TestVolume_TypesQuotasLimits(t *testing.T) {
	_, bs := newVolumeCloud(t)
	ctx := context.Background()
	pub := true
	vt := must(volumetypes.Create(ctx, bs, volumetypes.CreateOpts{Name: "multi", IsPublic: &pub,
		ExtraSpecs: map[string]string{"multiattach": "<is> True"}}).Extract())(t)
	specs := must(volumetypes.ListExtraSpecs(ctx, bs, vt.ID).Extract())(t)
	if specs["multiattach"] != "<is> True" {
		t.Fatalf("extra specs %v", specs)
	}
	v := createVolume(t, bs, volumes.CreateOpts{Size: 1, VolumeType: "multi"})
	if !v.Multiattach {
		t.Fatal("volume of a multiattach type is not multiattach")
	}
	wantStatus(t, volumetypes.Delete(ctx, bs, vt.ID).ExtractErr(), http.StatusBadRequest) // in use

	pid := must(volumes.Get(ctx, bs, v.ID).Extract())(t).TenantID
	q := must(quotasets.Update(ctx, bs, pid, quotasets.UpdateOpts{Volumes: ptr(3), Gigabytes: ptr(10)}).Extract())(t)
	if q.Volumes != 3 || q.Gigabytes != 10 {
		t.Fatalf("quota %+v", q)
	}
	// Concurrent creates never pass the quota: 3 volumes, one exists.
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { _, errs[i] = volumes.Create(ctx, bs, volumes.CreateOpts{Size: 1}, nil).Extract() })
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch statusOf(err) {
		case 0:
			created++
		case http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("create: %v", err)
		}
	}
	if created != 2 {
		t.Fatalf("%d creates passed a quota leaving room for 2", created)
	}
	usage := must(quotasets.GetUsage(ctx, bs, pid).Extract())(t)
	if usage.Volumes.InUse != 3 || usage.Volumes.Limit != 3 {
		t.Fatalf("usage %+v", usage.Volumes)
	}
	lim := must(limits.Get(ctx, bs).Extract())(t)
	if lim.Absolute.MaxTotalVolumes != 3 || lim.Absolute.TotalVolumesUsed != 3 {
		t.Fatalf("limits %+v", lim.Absolute)
	}
}

func TestVolume_BackupRestore(t *testing.T) {
	_, bs := newVolumeCloud(t)
	ctx := context.Background()
	v := createVolume(t, bs, volumes.CreateOpts{Size: 1})
	b := must(backups.Create(ctx, bs, backups.CreateOpts{VolumeID: v.ID, Name: "b1"}).Extract())(t)
	waitBackup(t, bs, b.ID, "available")
	waitVolume(t, bs, v.ID, "available")
	r := must(backups.RestoreFromBackup(ctx, bs, b.ID, backups.RestoreOpts{Name: "restored"}).Extract())(t)
	waitVolume(t, bs, r.VolumeID, "available")
	waitBackup(t, bs, b.ID, "available")
	ok(t, backups.Delete(ctx, bs, b.ID).ExtractErr())
	waitBackup(t, bs, b.ID, "deleted")
}

func TestVolume_URLWithAndWithoutProject(t *testing.T) {
	c, bs := newVolumeCloud(t)
	v := createVolume(t, bs, volumes.CreateOpts{Size: 1})
	tok := bs.Token()
	pid := must(volumes.Get(context.Background(), bs, v.ID).Extract())(t).TenantID
	for _, path := range []string{"/volume/v3/volumes/" + v.ID, "/volume/v3/" + pid + "/volumes/" + v.ID} {
		res := raw(t, http.MethodGet, c.URL+path, tok, nil, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
		}
	}
	res := raw(t, http.MethodGet, c.URL+"/volume/v3/volumes/nope", tok, nil, nil)
	if res.Status != http.StatusNotFound || !strings.Contains(string(res.Body), `"itemNotFound"`) {
		t.Fatalf("unknown volume: %d %s", res.Status, res.Body)
	}
	res = raw(t, http.MethodGet, c.URL+"/volume/", "", nil, nil)
	if res.Status != http.StatusMultipleChoices || !strings.Contains(string(res.Body), `"version":"3.60"`) {
		t.Fatalf("versions: %d %s", res.Status, res.Body)
	}
}
